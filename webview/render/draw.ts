/**
 * Paints the timeline on one canvas: lane labels in a left gutter, intervals, counted bars, CPU
 * strips, instants, markers and arrows in the plot. The bulk — row backgrounds, slices, ticks, counter
 * strips, counted bars — is written into a pixel buffer (render/raster) and put on the canvas at once:
 * Chromium's software canvas pays about a microsecond per fillRect, and a zoomed-out million-event
 * trace has tens of thousands of visible slices. Text, arrows, markers, outlines and the selection
 * are few and stay canvas calls on top. No text on slices narrower than a label needs; trace-derived
 * strings only ever reach the screen through fillText.
 */
import type { Kind } from '../../protocol';
import {
  AGG_H, Arrow, COUNTER_H, Counter, CPU_H, DrawSpan, HEADER_H, Instant, Interval, kindLabel, Layout, LayoutRow,
  counterSteps, forEachVisibleSpan, laneMidY, Marker, pointRuns, ROW_H, Selection, TAG_OPEN_ITEM, tagObj, tagState, INTERVAL_STATES, TICK_GROUPS, TickGroup, tickGroup, TimelineModel, visibleArrows, visibleSpans,
} from '../model';
import { lockColour, nameColour, Theme } from './theme';
import { parseCssColour, PixelColour, pixelColour } from './colour';
import { Raster } from './raster';

/** The widest lane-name column (px); narrow panels get a narrower one (gutterWidth). */
export const GUTTER = 200;
/** The narrowest lane-name column: room for an indent and a few letters before the ellipsis. */
export const MIN_GUTTER = 96;

/**
 * Width of the lane-name column for a canvas this wide (CSS px): a fifth of it, between MIN_GUTTER and
 * GUTTER. In a half-width editor panel the plot keeps most of the width; names are cut with an
 * ellipsis and shown whole in the tooltip.
 */
export function gutterWidth(canvasWidth: number): number {
  return Math.round(Math.min(GUTTER, Math.max(MIN_GUTTER, canvasWidth * 0.2)));
}
const MIN_TEXT_PX = 36;
const WAIT_STATE = INTERVAL_STATES.indexOf('wait');
// Zoomed out, more arrows than this are a hairball, not information: an even sample is drawn and the
// status line says how many are in view. (Canvas strokes cost ~20 µs each here, which is why the lines
// go into the raster; with a lock highlighted they are still stroked.)
const MAX_ARROWS = 300;
const MAX_LABELS = 400;
const MAX_HEADS = 300;

export interface DrawView {
  /** CSS pixels. */
  width: number;
  height: number;
  dpr: number;
  scrollY: number;
  /** Visible time window (µs). */
  t0: number;
  t1: number;
  /** Width of the lane-name column (gutterWidth of width); the plot starts right of it. */
  gutter: number;
  hiddenKinds: ReadonlySet<string>;
  selected?: Selection;
  /** A lock whose waiters and holders are highlighted. */
  lock?: number;
  /** Search text (lower case); matching intervals and lanes are highlighted. */
  search?: string;
  /** Lanes to emphasise (reveal, deadlock). */
  lanesHighlighted?: ReadonlySet<string>;
  theme: Theme;
}

export interface DrawStats {
  lanes: number;
  intervals: number;
  instants: number;
  arrows: number;
  /** Arrows in the window; more than drawn when they had to be sampled. */
  arrowsInView: number;
  markers: number;
  aggregates: number;
  searchMatches: number;
  /** Runs and rectangles written into the pixel raster after joining touching ones (the work of a frame). */
  rects: number;
}

type Batch = number[]; // x, y, w, h quadruples

class Batches {
  readonly fills = new Map<string, Batch>();
  readonly patterns = new Map<string, Batch>();
  add(map: Map<string, Batch>, style: string, x: number, y: number, w: number, h: number): void {
    let b = map.get(style);
    if (!b) map.set(style, (b = []));
    // Rows are visited left to right: a rectangle touching the previous one of the same style and
    // row extends it. Zoomed out, this turns thousands of pixel-wide blocks into a few bars.
    const n = b.length;
    if (n && b[n - 3] === y && b[n - 1] === h && x <= b[n - 4] + b[n - 2] + 0.5 && x >= b[n - 4]) {
      b[n - 2] = Math.max(b[n - 2], x + w - b[n - 4]);
      return;
    }
    b.push(x, y, w, h);
  }
}

export class TimelineRenderer {
  private readonly patternCache = new Map<string, CanvasPattern>();
  /** Measured text widths at the slice font (measureText is costly and labels repeat). */
  private readonly widths = new Map<string, number>();
  private widthFont = '';

  /**
   * Cuts a label to a width: one measurement per distinct text, then a proportional cut. `font` is
   * the one the context is set to (passed in: reading ctx.font back costs more than the lookup).
   */
  private fit(text: string, width: number, font: string): string {
    const ctx = this.ctx;
    if (font !== this.widthFont || this.widths.size > 10_000) { this.widths.clear(); this.widthFont = font; }
    let w = this.widths.get(text);
    if (w === undefined) this.widths.set(text, (w = ctx.measureText(text).width));
    if (w <= width) return text;
    const n = Math.floor((text.length * (width - 8)) / w);
    return n > 0 ? text.slice(0, n) + '…' : '';
  }

  constructor(private readonly ctx: CanvasRenderingContext2D) {}

  /** Lane and process names cut to the gutter: the same few dozen every frame, measured once per font and width. */
  private readonly fitted = new Map<string, string>();

  private fitCached(text: string, width: number, font: string): string {
    const key = `${font}\u0000${Math.round(width)}\u0000${text}`;
    let s = this.fitted.get(key);
    if (s === undefined) {
      if (this.fitted.size > 2000) this.fitted.clear();
      this.fitted.set(key, (s = fitText(this.ctx, text, Math.round(width))));
    }
    return s;
  }

  /** The canvas-sized pixel buffer, kept between frames (reallocated when the canvas is resized). */
  private image: ImageData | undefined;
  private rasterBuf: Raster | undefined;
  private readonly colours = new Map<string, PixelColour>();

  private raster(dpr: number): Raster {
    const { width, height } = this.ctx.canvas;
    const r = this.rasterBuf;
    if (r && this.image && r.width === width && r.height === height && r.scale === dpr) { r.rects = 0; return r; }
    const w = Math.max(1, width), h = Math.max(1, height);
    if (!this.image || this.image.width !== w || this.image.height !== h) this.image = this.ctx.createImageData(w, h);
    return (this.rasterBuf = new Raster(w, h, dpr, this.image.data.buffer));
  }

  /** A CSS colour for the raster; syntax the parser does not read (named, hsl(), color-mix()) is asked of the canvas. */
  private colour(css: string): PixelColour {
    let c = this.colours.get(css);
    if (c) return c;
    if (this.colours.size > 1000) this.colours.clear();
    c = pixelColour(parseCssColour(css) ?? this.browserColour(css));
    this.colours.set(css, c);
    return c;
  }

  private browserColour(css: string): { r: number; g: number; b: number; a: number } {
    const probe = document.createElement('canvas');
    probe.width = probe.height = 1;
    const g = probe.getContext('2d', { willReadFrequently: true });
    if (!g) return { r: 128, g: 128, b: 128, a: 255 };
    g.fillStyle = css;
    g.fillRect(0, 0, 1, 1);
    const d = g.getImageData(0, 0, 1, 1).data;
    return { r: d[0], g: d[1], b: d[2], a: d[3] };
  }

  draw(model: TimelineModel, l: Layout, v: DrawView): DrawStats {
    const { ctx } = this;
    const th = v.theme;
    const stats: DrawStats = { lanes: 0, intervals: 0, instants: 0, arrows: 0, arrowsInView: 0, markers: 0, aggregates: 0, searchMatches: 0, rects: 0 };
    ctx.setTransform(v.dpr, 0, 0, v.dpr, 0, 0);
    ctx.font = th.font;
    ctx.textBaseline = 'middle';

    const plotW = Math.max(1, v.width - v.gutter);
    const span = Math.max(1e-9, v.t1 - v.t0);
    const k = plotW / span;
    const X = (t: number) => v.gutter + (t - v.t0) * k;
    const usPerPx = span / plotW;
    const now = model.now;
    const kindShown = (key: Kind) => !v.hiddenKinds.has(key);
    // No filter callbacks at all when nothing is hidden: they run per visible span.
    const filtering = v.hiddenKinds.size > 0;
    const top = v.scrollY, bottom = v.scrollY + v.height;
    const visibleRows = rowsBetween(l, top, bottom);
    const lockBatches = new Batches();
    const outlines: Batch = [];
    const labels: { x: number; y: number; w: number; text: string; dark: boolean }[] = [];
    const searchHits: Batch = [];
    const C = (css: string) => this.colour(css);

    // The bulk (row backgrounds, slices, ticks) goes into the pixel raster, bands first (see raster.ts).
    // The lane-name column is painted over by canvas calls at the end: the raster covers the plot only.
    const raster = this.raster(v.dpr);
    raster.clip(v.gutter, v.width);
    raster.fillAll(C(th.background));
    for (const row of visibleRows) {
      const y = row.y - top;
      const bg = row.type !== 'lane' ? th.headerBg : stats.lanes++ % 2 === 1 ? th.laneBgAlt : undefined;
      const lit = v.lanesHighlighted?.has(row.key);
      if (!bg && !lit) continue;
      raster.beginBand(y, row.height);
      if (bg) raster.run(0, v.width, C(bg));
      if (lit) raster.run(0, v.width, C(th.highlight), 0.35);
      raster.endBand();
    }

    const lockSel = v.lock, search = v.search, highContrast = th.highContrast;
    const dense = C(th.dense);
    // Slice colours, looked up once per lock / state a frame (thousands of slices share a few).
    const byLock = new Map<number | undefined, PixelColour>();
    const byState = new Map<string, PixelColour>();
    // Tick colours by group (model tickGroup): one per run of ticks.
    const tickColours = tickColourList(th).map(C);
    const intervalColour = (iv: Interval): PixelColour => {
      let c: PixelColour | undefined;
      switch (iv.state) {
        case 'hold': case 'wait':
          c = byLock.get(iv.obj);
          if (!c) byLock.set(iv.obj, (c = C(lockColourOf(model, iv.obj))));
          return c;
        case 'generic': return C(nameColour(kindLabel(iv.begin)));
        default:
          c = byState.get(iv.state);
          if (!c) byState.set(iv.state, (c = C(th.state[iv.state])));
          return c;
      }
    };
    // Slice colours by style tag (model intervalTag): most slices are coloured from the row's tag
    // array without opening the interval; generic slices (coloured by name) and unpackable tags are.
    const byTag = new Map<number, PixelColour>();
    const sliceColour = (tag: number, iv: Interval): PixelColour => {
      let c = byTag.get(tag);
      if (c) return c;
      const state = tagState(tag);
      if (state === undefined || state === 'generic') return intervalColour(iv);
      c = state === 'hold' || state === 'wait' ? C(lockColourOf(model, tagObj(tag))) : C(th.state[state]);
      byTag.set(tag, c);
      return c;
    };
    for (const row of visibleRows) {
      const lane = row.lane;
      if (!lane) continue;
      const y0 = row.y - top;
      const rowsY = y0 + (row.rowsY ?? 0);
      // Lifetimes: the "running" background of row 0.
      raster.beginBand(rowsY, ROW_H - 2);
      for (const s of visibleSpans(lane.lifetimes, v.t0, v.t1, usPerPx, now, filtering ? (iv) => kindShown(iv.k) : undefined)) {
        raster.run(X(s.start), Math.max(1, (s.end - s.start) * k), C(th.lifetime));
      }
      // Instants: ticks at the top of the lane, one per pixel column at most; touching ticks of one
      // group are one run, zoomed out a bar. They are written into the first slice row's band, over its
      // slices, so that they are copied down with it, and into the lifetime line above it.
      const drawTicks = () => {
        for (const p of pointRuns(lane.instants, v.t0 - usPerPx * 4, v.t1 + usPerPx * 4, usPerPx, usPerPx * 2, filtering ? (i: Instant) => kindShown(i.k) : undefined)) {
          const x = X(p.start) - 1, w = (p.end - p.start) * k + 2, c = tickColours[p.tag ?? tickGroup(p.item.k)];
          raster.run(x, w, c);
          raster.rect(x, rowsY, w, 1, c);
          stats.instants += p.merged;
          if (search && p.merged === 1 && instantMatches(model, p.item, search)) { searchHits.push(X(p.start) - 3, rowsY - 1, 6, ROW_H); stats.searchMatches++; }
        }
      };
      for (let d = 0; d < Math.max(1, lane.rows.length); d++) {
        const y = rowsY + d * ROW_H;
        if (y > v.height || y + ROW_H < 0) continue;
        raster.beginBand(y + 1, ROW_H - 3);
        let lastEnd = -Infinity;
        const slice = (start: number, end: number, iv: Interval, merged: number, last: Interval, tag: number, lastTag: number) => {
          const x = X(start);
          const w = Math.max(1, (end - start) * k);
          stats.intervals += merged;
          // Where slices are too thin to tell apart and touch each other, they are drawn as one "busy"
          // bar (one run instead of thousands); a block keeps its colour when all agree, and an
          // isolated thin slice always does.
          const thin = w < 3 && x <= lastEnd + 1;
          const mixed = merged > 1 && !sameTagStyle(tag, lastTag, iv, last);
          if (thin || mixed) raster.run(x, w, dense);
          else if (tag % 8 === WAIT_STATE) raster.hatch(x, w, sliceColour(tag, iv));
          else if (tag === TAG_OPEN_ITEM && iv.state === 'wait') raster.hatch(x, w, intervalColour(iv));
          else raster.run(x, w, sliceColour(tag, iv));
          lastEnd = x + w;
          if (lockSel !== undefined && iv.obj === lockSel && (iv.k === 'lock.wait' || iv.k === 'lock.hold')) {
            outlines.push(x, y + 1, w, ROW_H - 3);
            this.addInterval(lockBatches, th, model, iv, x, y + 1, w, ROW_H - 3);
          }
          if (search && matchesSearch(model, iv, search)) { searchHits.push(x, y, w, ROW_H - 1); stats.searchMatches++; }
          if (highContrast && w > 3) outlines.push(x, y + 1, w, ROW_H - 3);
          if (w >= MIN_TEXT_PX && merged === 1) {
            labels.push({ x: Math.max(x, v.gutter) + 3, y: y + ROW_H / 2 - 0.5, w: Math.min(x + w, v.width) - Math.max(x, v.gutter) - 6, text: intervalLabel(model, iv), dark: iv.state === 'blocked' || iv.state === 'sleep' });
          }
        };
        if (d < lane.rows.length) forEachVisibleSpan(lane.rows[d], v.t0, v.t1, usPerPx, now, filtering ? (iv) => kindShown(iv.k) : undefined, slice);
        if (d === 0) drawTicks();
      }
      raster.endBand();
      if (lane.aggregates.length && row.aggY !== undefined && kindShown('aggregate')) {
        const ay = y0 + row.aggY;
        for (const s of visibleSpans(lane.aggregates, v.t0, v.t1, usPerPx, now)) {
          const count = s.merged === 1 ? s.item.count ?? 1 : s.merged;
          const h = Math.max(2, Math.min(AGG_H - 2, 2 + Math.log10(1 + count) * 3));
          const x = X(s.start), w = Math.max(1, (s.end - s.start) * k);
          raster.rect(x, ay + AGG_H - 1 - h, w, h, C(th.muted));
          stats.aggregates++;
          if (s.merged === 1 && w >= 28) labels.push({ x: x + 2, y: ay + 3, w: w - 4, text: `×${count}`, dark: false });
        }
      }
      // Counter strips: steps of at most one pixel column each, translucent over the lane background.
      if (lane.cpu && row.cpuY !== undefined && kindShown('cpu.thread')) this.counter(raster, lane.cpu, y0 + row.cpuY, CPU_H, 100, v, X, C(th.state.running));
      if (row.countersY !== undefined && kindShown('generic.counter')) {
        let cy = y0 + row.countersY;
        for (const c of lane.counters.values()) {
          this.counter(raster, c, cy + 2, COUNTER_H - 4, c.max || 1, v, X, C(nameColour(c.name)));
          labels.push({ x: v.gutter + 4, y: cy + 6, w: 200, text: `${c.name} (max ${fmtNum(c.max)})`, dark: false });
          cy += COUNTER_H;
        }
      }
    }
    // Arrow lines go into the raster, except while a lock is highlighted: then everything else is
    // faded and the arrows are stroked on top of the fade, as before.
    const arrows = this.arrowSegments(model, l, v, X, top);
    if (v.lock === undefined) this.rasterArrows(raster, arrows.byKind, v);
    stats.arrows = arrows.drawn;
    stats.arrowsInView = arrows.inView;
    stats.rects = raster.rects;
    const plotX = Math.min(raster.width, Math.round(v.gutter * v.dpr));
    if (plotX < raster.width) ctx.putImageData(this.image!, 0, 0, plotX, 0, raster.width - plotX, raster.height);

    ctx.save();
    ctx.beginPath();
    ctx.rect(v.gutter, 0, plotW, v.height);
    ctx.clip();
    ctx.textBaseline = 'middle';
    // Text is the dearest thing on the canvas: the widest labels first, at most MAX_LABELS a frame.
    if (labels.length > MAX_LABELS) labels.sort((a, b) => b.w - a.w).length = MAX_LABELS;
    for (const lb of labels) {
      if (lb.w < 12) continue;
      ctx.fillStyle = lb.dark ? th.foreground : '#000000';
      ctx.fillText(this.fit(lb.text, lb.w, th.font), lb.x, lb.y);
    }
    if (v.lock !== undefined) {
      // A selected lock: everything else fades, its waiters and holders are drawn again on top.
      ctx.globalAlpha = 0.6;
      ctx.fillStyle = th.background;
      ctx.fillRect(v.gutter, 0, plotW, v.height);
      ctx.globalAlpha = 1;
      this.flush(lockBatches);
    }
    strokeRects(ctx, outlines, v.lock !== undefined ? th.selection : th.border, v.lock !== undefined ? 2 : 1);
    fillRects(ctx, searchHits, th.highlight);

    this.strokeArrows(arrows.byKind, arrows.drawn, v, v.lock !== undefined);

    stats.markers = this.markers(model, l, v, X, top);
    this.selection(l, v, X, top, k);
    ctx.restore();

    // Gutter labels last so slices never cover them.
    ctx.fillStyle = th.background;
    ctx.fillRect(0, 0, v.gutter, v.height);
    for (const row of visibleRows) {
      const y = row.y - top;
      if (row.type !== 'lane') {
        ctx.fillStyle = th.headerBg;
        ctx.fillRect(0, y, v.gutter, row.height);
      }
      // Narrow columns indent less, so nested task lanes keep some of their name.
      const x = 6 + row.indent * (v.gutter < 160 ? 7 : 12);
      const mid = y + (row.type === 'lane' ? Math.min(row.height, ROW_H + (row.rowsY ?? 0)) / 2 + 1 : HEADER_H / 2);
      ctx.fillStyle = row.type === 'lane' ? th.foreground : th.foreground;
      const font = row.type === 'lane' ? th.font : `600 ${th.font}`;
      ctx.font = font;
      const label = this.fitCached(row.label, v.gutter - x - 8, font);
      ctx.fillText(label, x, mid);
      if (row.type !== 'lane' && row.detail) {
        ctx.font = th.font;
        ctx.fillStyle = row.process?.exit?.killed || (row.process?.exit?.code ?? 0) !== 0 ? th.error : th.muted;
        ctx.fillText(this.fitCached(row.detail, Math.max(0, v.width - v.gutter - 8), th.font), v.gutter + 6, mid);
      }
      if (v.search && row.type === 'lane' && row.label.toLowerCase().includes(v.search)) {
        ctx.strokeStyle = th.selection;
        ctx.strokeRect(1.5, y + 0.5, v.gutter - 3, row.height - 2);
        stats.searchMatches++;
      }
    }
    ctx.strokeStyle = th.border;
    ctx.beginPath();
    ctx.moveTo(v.gutter - 0.5, 0);
    ctx.lineTo(v.gutter - 0.5, v.height);
    ctx.stroke();
    ctx.font = th.font;
    return stats;
  }

  private addInterval(b: Batches, th: Theme, model: TimelineModel, iv: Interval, x: number, y: number, w: number, h: number): void {
    switch (iv.state) {
      case 'hold': b.add(b.fills, lockColourOf(model, iv.obj), x, y, w, h); break;
      case 'wait': b.add(b.patterns, lockColourOf(model, iv.obj), x, y, w, h); break;
      case 'generic': b.add(b.fills, nameColour(kindLabel(iv.begin)), x, y, w, h); break;
      default: b.add(b.fills, th.state[iv.state], x, y, w, h);
    }
  }

  private flush(b: Batches): void {
    for (const [style, rects] of b.fills) fillRects(this.ctx, rects, style);
    for (const [colour, rects] of b.patterns) {
      // Hatched: a faint fill of the lock's colour with diagonal stripes of it — waiting, not holding.
      this.ctx.globalAlpha = 0.25;
      fillRects(this.ctx, rects, colour);
      this.ctx.globalAlpha = 1;
      fillRects(this.ctx, rects, this.hatch(colour));
    }
  }

  private hatch(colour: string): CanvasPattern | string {
    let p = this.patternCache.get(colour);
    if (p) return p;
    const c = document.createElement('canvas');
    c.width = c.height = 6;
    const g = c.getContext('2d');
    if (!g) return colour;
    g.strokeStyle = colour;
    g.lineWidth = 2;
    g.beginPath();
    g.moveTo(-1, 7); g.lineTo(7, -1);
    g.moveTo(-1, 1); g.lineTo(1, -1);
    g.moveTo(5, 7); g.lineTo(7, 5);
    g.stroke();
    p = this.ctx.createPattern(c, 'repeat') ?? undefined;
    if (!p) return colour;
    this.patternCache.set(colour, p);
    return p;
  }

  /** A counter strip in the raster: a bar per step (merged to pixel columns by counterSteps), 70 % opaque. */
  private counter(r: Raster, c: Counter, y: number, h: number, max: number, v: DrawView, X: (t: number) => number, colour: PixelColour): void {
    const usPerPx = (v.t1 - v.t0) / Math.max(1, v.width - v.gutter);
    r.beginBars(y, h, colour, 0.7);
    counterSteps(c.ts, c.values, v.t0, v.t1, usPerPx, (start, end, value) => {
      const x = X(start);
      r.bar(x, Math.max(1, X(end) - x), (h * Math.max(0, Math.min(value, max))) / max);
    });
  }

  /**
   * The arrows to draw, by kind, as x0, y0, x1, y1 quadruples (CSS px): culled to the window and to
   * shown lanes, zoomed out an even sample of MAX_ARROWS (the count says so), each pixel path once.
   */
  private arrowSegments(model: TimelineModel, l: Layout, v: DrawView, X: (t: number) => number, top: number): { byKind: Map<Arrow['kind'], number[]>; drawn: number; inView: number } {
    const shown = (key: string) => l.byLane.has(key);
    const hidden = v.hiddenKinds.size ? (a: Arrow) => !v.hiddenKinds.has(`arrow:${a.kind}`) : undefined;
    const list = visibleArrows(model.arrows, v.t0, v.t1, shown, hidden, MAX_ARROWS);
    const [lo, hi] = model.arrows.spans.range(v.t0, v.t1);
    const inView = list.length > MAX_ARROWS ? Math.max(list.length, hi - lo) : list.length;
    const byKind = new Map<Arrow['kind'], number[]>();
    const seen = new Set<number>();
    let drawn = 0;
    // Zoomed out, tens of thousands of arrows are one hairball: past MAX_ARROWS an even sample is drawn
    // (the count says so), and arrowheads only when they can be told apart.
    const stride = list.length > MAX_ARROWS ? list.length / MAX_ARROWS : 1;
    let next = 0;
    for (let i = 0; i < list.length; i++) {
      if (i < next) continue;
      next += stride;
      const a = list[i];
      const fr = l.byLane.get(a.fromLane)!, tr = l.byLane.get(a.toLane)!;
      const y0 = laneMid(fr) - top, y1 = laneMid(tr) - top;
      if ((y0 < 0 && y1 < 0) || (y0 > v.height && y1 > v.height)) continue;
      const x0 = X(a.from.ts), x1 = X(a.to.ts);
      // Thousands of arrows land on the same pixels when zoomed out; draw each pixel path once.
      const key = ((Math.round(x0 / 2) & 0xffff) * 65536 + (Math.round(x1 / 2) & 0xffff)) * 4096 + ((fr.y + tr.y * 7) & 0xfff);
      if (seen.has(key)) continue;
      seen.add(key);
      let b = byKind.get(a.kind);
      if (!b) byKind.set(a.kind, (b = []));
      b.push(x0, y0, x1, y1);
      drawn++;
    }
    return { byKind, drawn, inView };
  }

  /** Arrow lines into the raster (under the labels; see Raster.line for why not canvas strokes). */
  private rasterArrows(r: Raster, byKind: Map<Arrow['kind'], number[]>, v: DrawView): void {
    for (const [kind, lines] of byKind) {
      const colour = this.colour(v.theme.arrow[kind]);
      const width = kind === 'deadlock' ? 2 : 1;
      for (let i = 0; i < lines.length; i += 4) r.line(lines[i], lines[i + 1], lines[i + 2], lines[i + 3], colour, width);
    }
  }

  /** Arrows as canvas strokes (`lines`), and their heads when few enough to tell apart. */
  private strokeArrows(byKind: Map<Arrow['kind'], number[]>, drawn: number, v: DrawView, lines: boolean): void {
    const { ctx } = this;
    for (const [kind, segs] of byKind) {
      const colour = v.theme.arrow[kind];
      ctx.strokeStyle = colour;
      ctx.fillStyle = colour;
      ctx.lineWidth = kind === 'deadlock' ? 2 : 1;
      if (lines) {
        // Short paths: path rasterising grows faster than linearly with the number of subpaths.
        for (let i = 0; i < segs.length; i += 4) {
          if (i % 64 === 0) { if (i) ctx.stroke(); ctx.beginPath(); }
          ctx.moveTo(segs[i], segs[i + 1]);
          ctx.lineTo(segs[i + 2], segs[i + 3]);
        }
        ctx.stroke();
      }
      if (drawn > MAX_HEADS) continue;
      for (let i = 0; i < segs.length; i += 4) {
        if (i % 64 === 0) { if (i) ctx.fill(); ctx.beginPath(); }
        arrowHead(ctx, segs[i], segs[i + 1], segs[i + 2], segs[i + 3]);
      }
      ctx.fill();
    }
    ctx.lineWidth = 1;
  }

  private markers(model: TimelineModel, l: Layout, v: DrawView, X: (t: number) => number, top: number): number {
    const { ctx } = this;
    let n = 0;
    for (const m of model.markers) {
      if (m.ts < v.t0 - (v.t1 - v.t0) * 0.01 || m.ts > v.t1 + (v.t1 - v.t0) * 0.01) continue;
      const x = X(m.ts);
      const lanes = m.lanes.length ? m.lanes : [m.lane];
      const rows = lanes.map((k) => l.byLane.get(k)).filter((r): r is LayoutRow => r !== undefined);
      if (!rows.length || v.hiddenKinds.has(m.ev.k)) continue;
      n++;
      ctx.strokeStyle = v.theme.error;
      ctx.fillStyle = v.theme.error;
      ctx.lineWidth = 2;
      if (m.kind === 'deadlock') {
        const ys = rows.map((r) => r.y - top);
        const yMin = Math.min(...ys), yMax = Math.max(...rows.map((r) => r.y - top + r.height));
        ctx.beginPath();
        ctx.moveTo(x, yMin);
        ctx.lineTo(x, yMax);
        ctx.stroke();
        for (const r of rows) {
          ctx.strokeRect(v.gutter + 1, r.y - top + 1, v.width - v.gutter - 2, r.height - 2);
          diamond(ctx, x, laneMid(r) - top, 6);
        }
      } else {
        for (const r of rows) {
          const y = laneMid(r) - top;
          if (m.kind === 'exception') cross(ctx, x, y, 5);
          else diamond(ctx, x, y, 5);
        }
      }
      ctx.lineWidth = 1;
    }
    return n;
  }

  private selection(l: Layout, v: DrawView, X: (t: number) => number, top: number, k: number): void {
    const s = v.selected;
    if (!s) return;
    const { ctx } = this;
    ctx.strokeStyle = v.theme.selection;
    ctx.lineWidth = 2;
    if (s.type === 'interval') {
      const row = l.byLane.get(s.iv.lane.key);
      if (!row) return;
      const isAgg = s.iv.k === 'aggregate';
      const y = row.y - top + (isAgg ? row.aggY ?? 0 : (row.rowsY ?? 0) + s.iv.depth * ROW_H);
      const end = s.iv.end === Infinity ? v.t1 : s.iv.end;
      ctx.strokeRect(X(s.iv.start) - 1, y, Math.max(2, (end - s.iv.start) * k) + 2, isAgg ? AGG_H : ROW_H - 1);
    } else if (s.type === 'instant' || s.type === 'marker') {
      const ts = s.type === 'instant' ? s.inst.ev.ts : s.marker.ts;
      const key = s.type === 'instant' ? s.inst.lane.key : s.marker.lane;
      const row = l.byLane.get(key);
      if (row) ctx.strokeRect(X(ts) - 4, row.y - top + (row.rowsY ?? 0) - 1, 8, ROW_H + 1);
    } else if (s.type === 'lane') {
      const row = l.byLane.get(s.lane.key);
      if (row) ctx.strokeRect(v.gutter + 1, row.y - top + 1, v.width - v.gutter - 2, row.height - 2);
    } else if (s.type === 'arrow') {
      const fr = l.byLane.get(s.arrow.fromLane), tr = l.byLane.get(s.arrow.toLane);
      if (fr && tr) {
        // The selected arrow drawn again, thicker, in the selection colour, with both ends ringed.
        const x0 = X(s.arrow.from.ts), y0 = laneMid(fr) - top, x1 = X(s.arrow.to.ts), y1 = laneMid(tr) - top;
        ctx.lineWidth = 3;
        ctx.beginPath();
        ctx.moveTo(x0, y0);
        ctx.lineTo(x1, y1);
        ctx.stroke();
        ctx.lineWidth = 2;
        ctx.strokeRect(x0 - 4, y0 - 4, 8, 8);
        ctx.strokeRect(x1 - 4, y1 - 4, 8, 8);
      }
    }
    ctx.lineWidth = 1;
  }
}

/** Whether a merged block's first and last slices look alike: their tags tell, except for generic slices (coloured by name). */
function sameTagStyle(tag: number, lastTag: number, iv: Interval, last: Interval): boolean {
  const opaque = (t: number) => t === TAG_OPEN_ITEM || tagState(t) === 'generic';
  return opaque(tag) || opaque(lastTag) ? sameStyle(last, iv) : tag === lastTag;
}

function sameStyle(a: Interval, b: Interval): boolean {
  if (a.state !== b.state) return false;
  if (a.state === 'hold' || a.state === 'wait') return a.obj === b.obj;
  return a.state !== 'generic' || kindLabel(a.begin) === kindLabel(b.begin);
}

function rowsBetween(l: Layout, top: number, bottom: number): LayoutRow[] {
  const out: LayoutRow[] = [];
  for (const r of l.rows) {
    if (r.y + r.height < top) continue;
    if (r.y > bottom) break;
    out.push(r);
  }
  return out;
}

export function laneMid(r: LayoutRow): number {
  return laneMidY(r);
}

function lockColourOf(model: TimelineModel, obj: number | undefined): string {
  const o = obj === undefined ? undefined : model.objects.get(obj);
  return lockColour(o ? o.colour : 0);
}

export function intervalLabel(model: TimelineModel, iv: Interval): string {
  const base = kindLabel(iv.begin);
  if (iv.k === 'generic.slice') return base;
  if (iv.obj !== undefined && iv.k !== 'async.step' && iv.k !== 'async.wait' && iv.k !== 'pool.task') return `${base} ${model.objName(iv.obj)}`;
  if (iv.k === 'pool.task' && typeof iv.begin.a?.fn === 'string') return `task ${iv.begin.a.fn}`;
  if (iv.k === 'async.wait' && typeof iv.begin.a?.what === 'string') return `await ${iv.begin.a.what}`;
  return base;
}

function matchesSearch(model: TimelineModel, iv: Interval, q: string): boolean {
  return intervalLabel(model, iv).toLowerCase().includes(q);
}

function instantMatches(model: TimelineModel, inst: Instant, q: string): boolean {
  const p = inst.ev.a?.preview;
  return kindLabel(inst.ev).toLowerCase().includes(q) || (typeof p === 'string' && p.toLowerCase().includes(q)) ||
    (inst.ev.obj !== undefined && model.objName(inst.ev.obj).toLowerCase().includes(q));
}

/** Tick colours in the order of the model's TICK_GROUPS. */
function tickColourList(th: Theme): string[] {
  const byGroup: Record<TickGroup, string> = {
    message: th.arrow.message, error: th.error, wake: th.arrow.wake, task: th.arrow.task,
    write: '#D55E00', read: '#56B4E9', other: th.muted,
  };
  return TICK_GROUPS.map((g) => byGroup[g]);
}

/**
 * One fill style set once, then fillRect per rectangle: measured in Chromium's software rasteriser,
 * one path of 17,000 rects costs ~540 ms to fill, 17,000 fillRect calls ~20 ms.
 */
function fillRects(ctx: CanvasRenderingContext2D, r: Batch, style: string | CanvasPattern): void {
  if (!r.length) return;
  ctx.fillStyle = style;
  for (let i = 0; i < r.length; i += 4) ctx.fillRect(r[i], r[i + 1], r[i + 2], r[i + 3]);
}

function strokeRects(ctx: CanvasRenderingContext2D, r: Batch, style: string, width: number): void {
  if (!r.length) return;
  ctx.strokeStyle = style;
  ctx.lineWidth = width;
  for (let i = 0; i < r.length; i += 4) ctx.strokeRect(r[i] + 0.5, r[i + 1] + 0.5, Math.max(1, r[i + 2] - 1), r[i + 3] - 1);
  ctx.lineWidth = 1;
}

function arrowHead(ctx: CanvasRenderingContext2D, x0: number, y0: number, x1: number, y1: number): void {
  const a = Math.atan2(y1 - y0, x1 - x0);
  const s = 6;
  ctx.moveTo(x1, y1);
  ctx.lineTo(x1 - s * Math.cos(a - 0.4), y1 - s * Math.sin(a - 0.4));
  ctx.lineTo(x1 - s * Math.cos(a + 0.4), y1 - s * Math.sin(a + 0.4));
  // no closePath: fill() closes each subpath, and closePath per head is costly in Skia
}

function diamond(ctx: CanvasRenderingContext2D, x: number, y: number, r: number): void {
  ctx.beginPath();
  ctx.moveTo(x, y - r); ctx.lineTo(x + r, y); ctx.lineTo(x, y + r); ctx.lineTo(x - r, y);
  ctx.closePath();
  ctx.fill();
}

function cross(ctx: CanvasRenderingContext2D, x: number, y: number, r: number): void {
  ctx.beginPath();
  ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r);
  ctx.moveTo(x + r, y - r); ctx.lineTo(x - r, y + r);
  ctx.stroke();
}

/** Cuts text to a width with an ellipsis (measure-based, binary search on length). */
export function fitText(ctx: CanvasRenderingContext2D, text: string, width: number): string {
  if (width <= 0) return '';
  if (ctx.measureText(text).width <= width) return text;
  let lo = 0, hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (ctx.measureText(text.slice(0, mid) + '…').width <= width) lo = mid;
    else hi = mid - 1;
  }
  return lo ? text.slice(0, lo) + '…' : '';
}

function fmtNum(n: number): string {
  return Math.abs(n) >= 1000 ? n.toExponential(2) : String(Math.round(n * 100) / 100);
}

export type { DrawSpan, Marker };
