/**
 * The timeline application: wires the model, the canvas renderer, d3 zoom/axis, panels and the
 * host connection. Redraws are merged into one requestAnimationFrame; incoming batches only append
 * to the model. The root element reports what it drew (data-state, data-summary) for tests.
 */
import { axisTop } from 'd3-axis';
import { scaleLinear, ScaleLinear } from 'd3-scale';
import { brushX, BrushBehavior, D3BrushEvent } from 'd3-brush';
import { select, Selection as D3Selection } from 'd3-selection';
import { zoom, zoomIdentity, ZoomBehavior, ZoomTransform } from 'd3-zoom';
import type { FromWebview, RevealQuery, RunStats, TraceEvent, ViewState } from '../../protocol';
import { parseLoc } from '../../protocol';
import {
  Arrow, arrowAt, arrowSegment, findArrow, fmtDuration, fmtTime, hitTest, PlotGeometry, kindLabel, layout, Layout, LayoutRow, rowAt, Selection, TimelineModel, ROW_H, visibleArrows,
} from '../model';
import { GUTTER, gutterWidth, intervalLabel, TimelineRenderer, DrawStats } from '../render/draw';
import { lockColour, readTheme, Theme } from '../render/theme';
import { button, clear, el } from './dom';
import { renderFilters } from './filters';
import { arrowCaption, describe, PanelActions, renderDetails, renderSummary } from './panels';
import { SidePane } from './sidepane';

export interface Host {
  /** True inside VS Code (toolbar commands and openSource go to the extension host). */
  readonly live: boolean;
  post(msg: FromWebview): void;
  getState(): ViewState | undefined;
  setState(s: ViewState): void;
}

const AXIS_H = 24;
const BASE_SPAN = 1e6;

export class TimelineApp {
  model: TimelineModel;
  private layout: Layout = { rows: [], height: 0, byLane: new Map() };
  private layoutVersion = -1;
  private readonly renderer: TimelineRenderer;
  private theme: Theme;
  private readonly canvas: HTMLCanvasElement;
  private readonly viewport: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly axisSvg: SVGSVGElement;
  private readonly banner: HTMLElement;
  private readonly bannerList: HTMLElement;
  private readonly statusEl: HTMLElement;
  private readonly details: HTMLElement;
  private readonly summaryEl: HTMLElement;
  private readonly filterPop: HTMLElement;
  private readonly tooltip: HTMLElement;
  private readonly legend: HTMLElement;
  private readonly searchInput: HTMLInputElement;
  private readonly followBtn: HTMLButtonElement;
  private readonly searchCount: HTMLElement;
  private readonly toolbar: HTMLElement;
  private readonly sidePane: SidePane;
  private readonly tabButtons: { details: HTMLButtonElement; summary: HTMLButtonElement };
  /** Width of the lane-name column for the current canvas width (render/draw gutterWidth). */
  private gutter = GUTTER;
  /** The webview's width (CSS px), from the root's ResizeObserver. */
  private panelWidth = 0;
  private readonly base: ScaleLinear<number, number>;
  private readonly zoomer: ZoomBehavior<HTMLCanvasElement, unknown>;
  private readonly canvasSel: D3Selection<HTMLCanvasElement, unknown, null, undefined>;
  private window: [number, number] | undefined;
  private fitted = true;
  private frame = 0;
  private width = 0;
  private height = 0;
  private selected: Selection | undefined;
  private lock: number | undefined;
  private search = '';
  private followLive = false;
  private running = false;
  private lanesHighlighted = new Set<string>();
  private readonly hiddenKinds = new Set<string>();
  private readonly hiddenLanes = new Set<string>();
  private readonly warnings: string[] = [];
  private lastStats: DrawStats | undefined;
  private summaryShown = false;
  private summaryAt = 0;
  private pendingSelected: ViewState['selected'];
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  private mouse: { x: number; y: number } | undefined;
  private boundedWarned = false;
  private statusText = '';
  private title = '';
  private resets = 0;
  /** Set when a shift+drag range selection ends on the canvas: the click that follows is not a pick. */
  private swallowClick = false;
  /** Range selection (zoom to a brushed range): a d3-brush on the time axis, also driven by shift+drag on the plot. */
  private readonly brushLayer: SVGSVGElement;
  private readonly brushBand: SVGRectElement;
  private readonly brush: BrushBehavior<unknown>;
  private readonly brushG: D3Selection<SVGGElement, unknown, null, undefined>;
  /** A shift+drag on the plot in progress (canvas px), or undefined. */
  private rangeDrag: { x0: number; x1: number } | undefined;
  /** Esc pressed during a drag on the axis: its end does not zoom. */
  private brushCancelled = false;

  constructor(private readonly root: HTMLElement, private readonly host: Host, maxEvents?: number) {
    this.model = new TimelineModel(maxEvents);
    root.dataset.state = 'loading';
    this.theme = readTheme();
    const saved = host.getState();

    // ---- toolbar
    this.searchInput = el('input', { type: 'search', placeholder: 'Search names, locks, payloads', 'aria-label': 'Search' });
    this.searchCount = el('span', { class: 'muted search-count' });
    this.followBtn = button('Follow live', 'Keep the newest events in view while the run streams', () => this.setFollow(!this.followLive), { 'aria-pressed': 'false' });
    this.statusEl = el('span', { class: 'status', role: 'status' });
    // ---- side panels (built first: the toolbar holds the pane's toggle)
    this.details = el('div', { class: 'panel details' });
    this.summaryEl = el('div', { class: 'panel summary', hidden: '' });
    this.tabButtons = {
      details: button('Details', 'The selected item', () => this.showTab('details'), { role: 'tab', 'aria-selected': 'true' }),
      summary: button('Summary', 'Locks, threads, channels', () => this.showTab('summary'), { role: 'tab', 'aria-selected': 'false' }),
    };
    const tabs = el('div', { class: 'tabs', role: 'tablist' }, this.tabButtons.details, this.tabButtons.summary,
      button('×', 'Hide this pane', () => this.sidePane.setOpen(false), { class: 'close', 'aria-label': 'Hide the details pane' }));
    this.legend = el('div', { class: 'legend', 'aria-label': 'Colour key' });
    const side = el('div', { class: 'side' }, tabs, this.details, this.summaryEl, this.legend);
    this.sidePane = new SidePane(side, saved?.sidePane, () => this.saveState());

    // ---- toolbar: groups that wrap as wholes in a narrow panel
    const group = (label: string, ...items: HTMLElement[]) => el('div', { class: 'group', role: 'group', 'aria-label': label }, ...items);
    this.toolbar = el('div', { class: 'toolbar', role: 'toolbar' },
      group('View',
        button('Fit all', 'Show the whole run (0)', () => this.fitAll()),
        button('Zoom to selection', 'Zoom to the selected item (F)', () => this.zoomToSelection()),
        this.followBtn),
      group('Find', button('Filter…', 'Choose processes, threads and event kinds', () => this.toggleFilters()), this.searchInput, this.searchCount),
      group('Panes', button('Summary', 'Locks, threads, channels', () => this.showTab('summary')), this.sidePane.toggle),
    );
    if (host.live) {
      this.toolbar.append(group('Run',
        button('Save trace', 'Save the trace as Chrome-trace JSON', () => host.post({ type: 'command', command: 'saveTrace' })),
        button('Export report', 'Write a self-contained HTML report', () => host.post({ type: 'command', command: 'exportReport' })),
        button('Stop', 'Stop the traced program', () => host.post({ type: 'command', command: 'stopTrace' })),
        button('Rerun', 'Run the program again with tracing', () => host.post({ type: 'command', command: 'rerun' }))));
    }
    this.toolbar.append(this.statusEl);

    this.bannerList = el('ul');
    this.banner = el('div', { class: 'banner', role: 'alert', hidden: '' }, this.bannerList,
      button('×', 'Dismiss', () => { this.banner.hidden = true; }, { class: 'close' }));
    this.filterPop = el('div', { class: 'popover', hidden: '' });

    // ---- timeline
    this.axisSvg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    this.axisSvg.setAttribute('class', 'axis');
    this.axisSvg.setAttribute('height', String(AXIS_H));
    this.canvas = el('canvas', { tabindex: '0', 'aria-label': 'Concurrency timeline. W/S zoom, A/D pan, F zoom to selection, 0 fit all.' });
    this.spacer = el('div', { class: 'spacer' });
    this.viewport = el('div', { class: 'viewport' }, this.canvas, this.spacer);
    this.tooltip = el('div', { class: 'tooltip', hidden: '' });
    // Over the axis and the plot: the axis strip holds the d3-brush (drag on the axis picks a range); the
    // band shows the range over the lanes. The layer itself lets pointer events through (style.css).
    const svgNs = 'http://www.w3.org/2000/svg';
    this.brushLayer = document.createElementNS(svgNs, 'svg') as SVGSVGElement;
    this.brushLayer.setAttribute('class', 'brush-layer');
    this.brushBand = document.createElementNS(svgNs, 'rect') as SVGRectElement;
    this.brushBand.setAttribute('class', 'brush-band');
    this.brushBand.setAttribute('display', 'none');
    this.brushLayer.append(this.brushBand);
    const timeline = el('div', { class: 'timeline' }, this.axisSvg, this.viewport, this.tooltip, this.brushLayer);

    clear(root);
    root.append(this.toolbar, this.banner, this.filterPop, el('div', { class: 'main' }, timeline, this.sidePane.splitter, side));
    this.panelWidth = root.clientWidth || window.innerWidth;
    this.sidePane.fit(this.panelWidth);

    const ctx = this.canvas.getContext('2d', { alpha: false });
    if (!ctx) throw new Error('this browser cannot draw on a canvas');
    this.renderer = new TimelineRenderer(ctx);

    // ---- zoom: a fixed base scale; the visible window is transform.rescaleX(base).
    this.base = scaleLinear().domain([0, BASE_SPAN]).range([0, 1]);
    this.canvasSel = select(this.canvas);
    this.zoomer = zoom<HTMLCanvasElement, unknown>()
      .scaleExtent([1e-9, 1e9])
      .filter((e: Event) => {
        if (e.type === 'wheel') return !(e as WheelEvent).shiftKey && this.mouseInPlot(e as WheelEvent);
        const m = e as MouseEvent;
        // Shift+drag selects a time range (the brush below) instead of panning.
        return !m.ctrlKey && !m.button && !(m.shiftKey && e.type === 'mousedown');
      })
      .on('zoom', (e: { transform: ZoomTransform; sourceEvent: Event | null }) => {
        const src = e.sourceEvent as MouseEvent | null;
        if (src && src.type === 'mousemove' && src.movementY) this.viewport.scrollTop -= src.movementY;
        const d = e.transform.rescaleX(this.base).domain();
        this.window = [d[0], d[1]];
        // Zooming with the wheel keeps following a live run (with the new span); dragging away stops it.
        if (src) { this.fitted = false; if (this.followLive && src.type !== 'wheel') this.setFollow(false); }
        this.requestDraw();
        this.saveState();
      });
    this.canvasSel.call(this.zoomer).on('dblclick.zoom', null);

    // ---- zoom to a brushed range: drag on the time axis, or shift+drag on the plot; Esc cancels.
    this.brush = brushX<unknown>()
      .filter((e: MouseEvent) => !e.button && !e.ctrlKey)
      .on('start brush', (e: D3BrushEvent<unknown>) => this.showBand(this.brushCancelled ? null : e.selection as [number, number] | null))
      .on('end', (e: D3BrushEvent<unknown>) => {
        if (!e.sourceEvent) return; // our own brush.move calls
        const sel = e.selection as [number, number] | null;
        const cancelled = this.brushCancelled;
        this.brushCancelled = false;
        this.clearBrush();
        if (!cancelled && sel) this.zoomToPixels(sel[0], sel[1]);
      });
    this.brushG = select(this.brushLayer).append('g').attr('class', 'brush');
    this.brushG.call(this.brush);
    this.canvas.addEventListener('mousedown', (e) => this.startRangeDrag(e));

    // ---- input
    this.viewport.addEventListener('scroll', () => this.requestDraw());
    this.viewport.addEventListener('wheel', (e) => {
      if (e.shiftKey || !this.mouseInPlot(e)) { this.viewport.scrollTop += e.deltaY || e.deltaX; e.preventDefault(); }
    }, { passive: false });
    this.canvas.addEventListener('mousemove', (e) => this.hover(e));
    this.canvas.addEventListener('mouseleave', () => { this.mouse = undefined; this.tooltip.hidden = true; });
    this.canvas.addEventListener('click', (e) => this.click(e));
    document.addEventListener('keydown', (e) => this.key(e));
    this.searchInput.addEventListener('input', () => { this.search = this.searchInput.value.trim().toLowerCase(); this.requestDraw(); this.saveState(); });
    this.searchInput.addEventListener('keydown', (e) => { if (e.key === 'Enter') this.nextMatch(); });
    new ResizeObserver(() => this.resize()).observe(this.viewport);
    // The panel's width decides the pane's default and limits; the viewport observer then resizes the canvas.
    new ResizeObserver(() => {
      this.panelWidth = root.clientWidth;
      this.sidePane.fit(this.panelWidth);
    }).observe(root);
    const mq = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : undefined;
    mq?.addEventListener('change', () => this.retheme());
    // VS Code swaps body classes when the theme changes.
    new MutationObserver(() => this.retheme()).observe(document.body, { attributes: true, attributeFilter: ['class'] });

    if (saved) this.restore(saved);
    this.renderLegend();
    renderDetails(this.details, this.model, undefined, this.actions);
    this.resize();
  }

  // ---------------------------------------------------------------- host messages

  reset(title: string, metadata?: Record<string, unknown>, maxEvents?: number): void {
    const limit = typeof metadata?.maxEventsInPanel === 'number' ? metadata.maxEventsInPanel : maxEvents ?? this.model.maxEvents;
    this.model = new TimelineModel(limit);
    if (metadata) Object.assign(this.model.metadata, metadata);
    this.title = title;
    this.layoutVersion = -1;
    this.selected = undefined;
    this.lock = undefined;
    this.warnings.length = 0;
    clear(this.bannerList);
    this.boundedWarned = false;
    this.banner.hidden = true;
    // The first reset replays the trace the saved view state belongs to; a later one is a new trace.
    if (this.resets++ > 0) { this.window = undefined; this.lanesHighlighted = new Set(); this.pendingSelected = undefined; }
    this.fitted = this.window === undefined;
    this.root.dataset.state = 'loading';
    renderDetails(this.details, this.model, undefined, this.actions);
    this.requestDraw();
  }

  append(events: TraceEvent[]): void {
    this.model.append(events);
    if (!this.boundedWarned && this.model.bounded) {
      this.boundedWarned = true;
      this.warn(`More than ${this.model.maxEvents.toLocaleString()} events: later detail is counted as density bars instead of drawn one by one (setting interleave.maxEventsInPanel).`);
    }
    this.requestDraw();
  }

  warn(message: string): void {
    if (this.warnings.includes(message)) return;
    this.warnings.push(message);
    this.bannerList.append(el('li', {}, message));
    this.banner.hidden = false;
    this.requestDraw();
  }

  status(running: boolean, stats: RunStats): void {
    this.running = running;
    this.statusText = `${running ? 'running' : 'stopped'} · ${stats.events.toLocaleString()} events · ${Math.round(stats.eventsPerSecond).toLocaleString()}/s` +
      (stats.dropped ? ` · ${stats.dropped.toLocaleString()} dropped` : '');
    this.requestDraw();
  }

  end(exitCode: number | null, signal?: string | null, metadata?: Record<string, unknown>): void {
    this.running = false;
    if (metadata) Object.assign(this.model.metadata, metadata);
    this.statusText = `finished · exit ${exitCode === null ? '?' : exitCode}${signal ? ` (${signal})` : ''}`;
    const totals = metadata?.totals as { dropped?: number } | undefined;
    if (totals && typeof totals.dropped === 'number' && totals.dropped > 0) this.warn(`The runtime dropped ${totals.dropped.toLocaleString()} events (buffers full); the timeline has gaps.`);
    this.requestDraw();
  }

  reveal(q: RevealQuery): void {
    const lanes = new Set<string>();
    let t: number | undefined;
    if (q.loc) {
      for (const k of this.model.locLanes.get(q.loc) ?? []) lanes.add(k);
      const p = parseLoc(q.loc);
      // Locations can differ in path spelling; fall back to the file's basename and line.
      if (!lanes.size && p) {
        const tail = `${p.file.split(/[\\/]/).pop()}:${p.line}`;
        for (const [loc, ks] of this.model.locLanes) if (loc.endsWith(tail)) for (const k of ks) lanes.add(k);
      }
    }
    if (q.names?.length) {
      const names = q.names.map((n) => n.toLowerCase());
      for (const o of this.model.objects.values()) {
        if (names.includes(o.name.toLowerCase()) && o.kind === 'lock') { this.lock = o.obj; break; }
      }
      this.search = names[0];
      this.searchInput.value = q.names[0];
    }
    if (q.kind === 'deadlock') {
      const m = this.model.markers.find((x) => x.kind === 'deadlock');
      if (m) { for (const k of m.lanes) lanes.add(k); t = m.ts; this.select({ type: 'marker', marker: m }, false); }
    }
    this.lanesHighlighted = lanes;
    const first = [...lanes].map((k) => this.layout.byLane.get(k)).filter((r) => r)[0];
    if (first) this.viewport.scrollTop = Math.max(0, first.y - 40);
    if (t !== undefined && this.window) {
      const span = this.window[1] - this.window[0];
      this.setWindow(t - span / 2, t + span / 2);
    }
    this.requestDraw();
  }

  // ---------------------------------------------------------------- view

  private get actions(): PanelActions {
    return {
      openSource: (loc) => this.openSource(loc),
      selectLock: (obj) => { this.lock = this.lock === obj ? undefined : obj; this.requestDraw(); },
      revealLane: (key) => {
        const r = this.layout.byLane.get(key);
        if (r) this.viewport.scrollTop = Math.max(0, r.y - 40);
        const lane = this.model.lane(key);
        if (lane) this.select({ type: 'lane', lane }, false);
      },
    };
  }

  requestDraw(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  private draw(): void {
    const m = this.model;
    if (this.layoutVersion !== m.version) this.relayout();
    const hasData = Number.isFinite(m.minTs);
    if (hasData) {
      if (!this.window || this.fitted) this.window = this.fullWindow();
      else if (this.followLive) {
        const span = this.window[1] - this.window[0];
        this.window = [m.maxTs - span * 0.95, m.maxTs + span * 0.05];
      }
      this.syncZoom();
    }
    const w = this.window ?? [0, 1];
    const stats = this.renderer.draw(m, this.layout, {
      width: this.width, height: this.height, gutter: this.gutter, dpr: window.devicePixelRatio || 1, scrollY: this.viewport.scrollTop,
      t0: w[0], t1: w[1], hiddenKinds: this.hiddenKinds, selected: this.selected, lock: this.lock,
      search: this.search || undefined, lanesHighlighted: this.lanesHighlighted, theme: this.theme,
    });
    this.lastStats = stats;
    this.drawAxis(w);
    this.searchCount.textContent = this.search ? `${stats.searchMatches} in view` : '';
    const counts = `${m.received.toLocaleString()} events${m.folded ? ` (${m.folded.toLocaleString()} counted)` : ''}`;
    const sampled = stats.arrowsInView > stats.arrows + 50 ? `${stats.arrows} of ${stats.arrowsInView.toLocaleString()} arrows shown (zoom in for all)` : '';
    this.statusEl.textContent = [this.title, this.statusText, this.running ? '' : counts, sampled].filter(Boolean).join(' · ');
    if (this.summaryShown && (performance.now() - this.summaryAt > 1000 || !this.running)) this.refreshSummary();
    this.publish(stats, w);
  }

  /**
   * Test-visible state, as JSON in `#app[data-summary]` after every draw (`data-state="ready"` once
   * something was drawn or a problem reported). Model totals: lanes (shown), processes, taskLanes,
   * intervals, states {hold, wait, blocked, sleep, running, slow, generic}, arrows, arrowKinds
   * {message, task, spawn, join, wake, flow, deadlock}, counters, markers, deadlocks, exceptions,
   * instants, aggregates, events, folded, maxEvents (the detail budget: interleave.maxEventsInPanel), warnings, laneNames, processNames ("name (pid N · exit C)").
   * This frame: drawn {lanes, intervals, arrows, arrowsInView, instants, markers, aggregates, rects},
   * window [t0, t1] µs, selected (item type or null), lock (highlighted lock obj or null),
   * highlighted (revealed lane keys), search, layout {panel, canvas, gutter, side} in CSS px (side: the
   * details pane's width, 0 when collapsed).
   */
  private publish(stats: DrawStats, w: [number, number]): void {
    const m = this.model;
    let instants = 0, aggregates = 0, counters = 0, taskLanes = 0;
    for (const l of m.lanes.values()) {
      instants += l.instants.length;
      aggregates += l.aggregates.length;
      counters += l.counters.size + (l.cpu ? 1 : 0);
      if (l.kind !== 'thread') taskLanes++;
    }
    const summary = {
      lanes: this.layout.byLane.size,
      processes: m.processes.size,
      taskLanes,
      intervals: m.intervalCount,
      states: m.byState,
      arrows: m.arrows.alive,
      arrowKinds: m.arrows.byKind,
      counters,
      markers: m.markers.length,
      deadlocks: m.markers.filter((x) => x.kind === 'deadlock').length,
      exceptions: m.markers.filter((x) => x.kind === 'exception').length,
      instants,
      aggregates,
      events: m.received,
      folded: m.folded,
      maxEvents: m.maxEvents,
      warnings: this.warnings.length,
      laneNames: [...this.layout.byLane.values()].map((r) => r.label),
      processNames: this.layout.rows.filter((r) => r.type === 'process').map((r) => `${r.label} (${r.detail})`),
      drawn: { lanes: stats.lanes, intervals: stats.intervals, arrows: stats.arrows, arrowsInView: stats.arrowsInView, instants: stats.instants, markers: stats.markers, aggregates: stats.aggregates, rects: stats.rects },
      window: w,
      selected: this.selected ? this.selected.type : null,
      lock: this.lock ?? null,
      highlighted: [...this.lanesHighlighted],
      search: this.search,
      layout: { panel: this.panelWidth, canvas: this.width, gutter: this.gutter, side: this.sidePane.width },
    };
    this.root.dataset.summary = JSON.stringify(summary);
    if (Number.isFinite(m.minTs) || this.warnings.length) this.root.dataset.state = 'ready';
  }

  private relayout(): void {
    this.layout = layout(this.model, { hidden: this.hiddenLanes });
    this.layoutVersion = this.model.version;
    this.spacer.style.height = `${Math.max(0, this.layout.height + 40 - this.height)}px`;
    const to = this.pendingSelected?.to;
    if (this.pendingSelected && to) {
      // An arrow: selected again once both its ends have arrived (a live run may still be sending them).
      const arrow = findArrow(this.model.arrows, this.pendingSelected.lane, this.pendingSelected.ts, to.lane, to.ts);
      if (arrow) {
        this.selected = { type: 'arrow', arrow };
        renderDetails(this.details, this.model, this.selected, this.actions);
        this.pendingSelected = undefined;
      }
    } else if (this.pendingSelected && this.model.lane(this.pendingSelected.lane)) {
      const row = this.layout.byLane.get(this.pendingSelected.lane);
      if (row) {
        const s = hitTest(this.model, this.layout, this.pendingSelected.ts, row.y + (row.rowsY ?? 0) + ROW_H / 2, 1);
        if (s) this.selected = s;
        renderDetails(this.details, this.model, this.selected, this.actions);
        this.pendingSelected = undefined;
      }
    }
  }

  private fullWindow(): [number, number] {
    const m = this.model;
    const span = Math.max(1, m.maxTs - m.minTs);
    return [m.minTs - span * 0.01, m.maxTs + span * 0.02];
  }

  private plotWidth(): number {
    return Math.max(1, this.width - this.gutter);
  }

  /** Keeps d3-zoom's transform equal to the window (after resizes, fit, follow, restore). */
  private syncZoom(): void {
    if (!this.window) return;
    const [t0, t1] = this.window;
    const k = BASE_SPAN / Math.max(1e-9, t1 - t0);
    const t = zoomIdentity.scale(k).translate(-this.base(t0) * 1, 0);
    const cur = (this.canvas as unknown as { __zoom?: ZoomTransform }).__zoom;
    if (cur && Math.abs(cur.k - t.k) <= 1e-12 * t.k && Math.abs(cur.x - t.x) <= 1e-9 * Math.max(1, Math.abs(t.x))) return;
    // Set the stored transform without emitting a zoom event (we are already drawing).
    (this.canvas as unknown as { __zoom: ZoomTransform }).__zoom = t;
  }

  setWindow(t0: number, t1: number): void {
    if (!(t1 > t0)) return;
    this.window = [t0, t1];
    this.fitted = false;
    this.syncZoom();
    this.requestDraw();
    this.saveState();
  }

  fitAll(): void {
    this.fitted = true;
    this.requestDraw();
    this.saveState();
  }

  private zoomToSelection(): void {
    const s = this.selected;
    if (!s) return;
    let t0: number, t1: number;
    if (s.type === 'interval') { t0 = s.iv.start; t1 = s.iv.end === Infinity ? this.model.now : s.iv.end; }
    else if (s.type === 'instant' || s.type === 'marker') { const ts = s.type === 'instant' ? s.inst.ev.ts : s.marker.ts; t0 = ts - 500; t1 = ts + 500; }
    else if (s.type === 'lane') { t0 = s.lane.first; t1 = s.lane.last; }
    else if (s.type === 'arrow') { t0 = Math.min(s.arrow.from.ts, s.arrow.to.ts); t1 = Math.max(s.arrow.from.ts, s.arrow.to.ts); }
    else return;
    const pad = Math.max(1, (t1 - t0) * 0.1);
    this.setWindow(t0 - pad, t1 + pad);
  }

  // ---------------------------------------------------------------- range selection (d3-brush)

  /** Zooms to the range between two canvas x positions (px); a range under 3 px is a click, not a range. */
  private zoomToPixels(xa: number, xb: number): void {
    const g = this.plotGeometry();
    if (!g || Math.abs(xb - xa) < 3) return;
    const usPerPx = (g.t1 - g.t0) / g.width;
    const t = (x: number) => g.t0 + (x - g.x0) * usPerPx;
    if (this.followLive) this.setFollow(false);
    this.setWindow(t(Math.min(xa, xb)), t(Math.max(xa, xb)));
  }

  private showBand(sel: [number, number] | null): void {
    if (!sel) { this.brushBand.setAttribute('display', 'none'); return; }
    this.brushBand.setAttribute('x', String(sel[0]));
    this.brushBand.setAttribute('width', String(Math.max(1, sel[1] - sel[0])));
    this.brushBand.setAttribute('y', String(AXIS_H));
    this.brushBand.setAttribute('height', String(this.height));
    this.brushBand.removeAttribute('display');
  }

  private clearBrush(): void {
    this.brushG.call(this.brush.move, null);
    this.showBand(null);
  }

  /** Esc while a range is being brushed: drop it without zooming. True when there was one. */
  private cancelBrush(): boolean {
    const axisBrushing = this.brushBand.getAttribute('display') !== 'none' && !this.rangeDrag;
    if (!this.rangeDrag && !axisBrushing) return false;
    if (axisBrushing) this.brushCancelled = true;
    this.rangeDrag = undefined;
    this.clearBrush();
    return true;
  }

  /** Shift+drag on the plot: the same brush, moved by hand (d3-brush only listens on its own overlay). */
  private startRangeDrag(e: MouseEvent): void {
    if (!e.shiftKey || e.button !== 0 || !this.window || !this.mouseInPlot(e)) return;
    e.preventDefault();
    const r = this.canvas.getBoundingClientRect();
    const clamp = (clientX: number) => Math.max(this.gutter, Math.min(this.width, clientX - r.left));
    const drag = { x0: clamp(e.clientX), x1: clamp(e.clientX) };
    this.rangeDrag = drag;
    const move = (ev: MouseEvent) => {
      if (this.rangeDrag !== drag) return;
      drag.x1 = clamp(ev.clientX);
      const sel: [number, number] = [Math.min(drag.x0, drag.x1), Math.max(drag.x0, drag.x1)];
      if (sel[1] - sel[0] >= 1) this.brushG.call(this.brush.move, sel);
    };
    const up = (ev: MouseEvent) => {
      window.removeEventListener('mousemove', move);
      window.removeEventListener('mouseup', up);
      const cancelled = this.rangeDrag !== drag;
      const moved = Math.abs(drag.x1 - drag.x0) >= 3;
      // A click follows a mouseup on the canvas: after a range (or a cancelled one) it picks nothing.
      this.swallowClick = ev.target === this.canvas && (cancelled || moved);
      if (cancelled) return;
      this.rangeDrag = undefined;
      this.clearBrush();
      if (moved) this.zoomToPixels(drag.x0, drag.x1);
    };
    window.addEventListener('mousemove', move);
    window.addEventListener('mouseup', up);
  }

  private setFollow(on: boolean): void {
    this.followLive = on;
    this.followBtn.setAttribute('aria-pressed', String(on));
    this.followBtn.classList.toggle('on', on);
    if (on) this.fitted = false;
    this.requestDraw();
    this.saveState();
  }

  private toggleFilters(): void {
    if (!this.filterPop.hidden) { this.filterPop.hidden = true; return; }
    renderFilters(this.filterPop, this.model, { hiddenKinds: this.hiddenKinds, hiddenLanes: this.hiddenLanes }, () => {
      this.layoutVersion = -1;
      this.requestDraw();
      this.saveState();
    });
    // Below the toolbar, however many lines it wrapped to.
    this.filterPop.style.top = `${this.toolbar.offsetTop + this.toolbar.offsetHeight + 2}px`;
    this.filterPop.hidden = false;
  }

  private showTab(tab: 'details' | 'summary'): void {
    if (!this.sidePane.open) this.sidePane.setOpen(true);
    this.summaryShown = tab === 'summary';
    this.tabButtons.details.setAttribute('aria-selected', String(!this.summaryShown));
    this.tabButtons.summary.setAttribute('aria-selected', String(this.summaryShown));
    this.details.hidden = this.summaryShown;
    this.summaryEl.hidden = !this.summaryShown;
    if (this.summaryShown) this.refreshSummary();
  }

  private refreshSummary(): void {
    this.summaryAt = performance.now();
    renderSummary(this.summaryEl, this.model, this.actions);
  }

  private resize(): void {
    const w = this.viewport.clientWidth;
    const h = this.viewport.clientHeight;
    if (w === this.width && h === this.height) return;
    this.width = w;
    this.height = h;
    this.gutter = gutterWidth(w);
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.max(1, Math.round(w * dpr));
    this.canvas.height = Math.max(1, Math.round(h * dpr));
    this.canvas.style.width = `${w}px`;
    this.canvas.style.height = `${h}px`;
    this.base.range([0, this.plotWidth()]);
    this.axisSvg.setAttribute('width', String(w));
    this.brushLayer.setAttribute('width', String(w));
    this.brushLayer.setAttribute('height', String(AXIS_H + h));
    this.brush.extent([[this.gutter, 0], [Math.max(this.gutter + 1, w), AXIS_H]]);
    this.brushG.call(this.brush);
    this.spacer.style.height = `${Math.max(0, this.layout.height + 40 - h)}px`;
    this.syncZoom();
    this.draw();
  }

  private retheme(): void {
    this.theme = readTheme();
    this.renderLegend();
    this.requestDraw();
  }

  /**
   * The colour key, from the same theme the canvas uses. Swatches are styled through CSSOM
   * (allowed by the CSP, unlike style attributes) and are not canvases, so `canvas` means the timeline.
   */
  private renderLegend(): void {
    const th = this.theme;
    const hatch = (c: string) => `repeating-linear-gradient(135deg, ${c} 0 2px, transparent 2px 5px)`;
    const items: [string, string][] = [
      // A thread's lifetime: what it waits on inside the standard library (an idle queue feeder) is not traced.
      ['running (or waiting on something not traced)', th.state.running],
      ['holding a lock (colour per lock)', `linear-gradient(90deg, ${lockColour(0)} 50%, ${lockColour(1)} 50%)`],
      ['waiting for a lock', hatch(lockColour(0))],
      ['blocked (queue, join, event, condition)', th.state.blocked],
      ['sleeping', th.state.sleep],
      ['blocked the event loop', th.state.slow],
      ['many thin slices', th.dense],
      ['message / task / wake-up arrow', `linear-gradient(90deg, ${th.arrow.message} 33%, ${th.arrow.task} 33% 66%, ${th.arrow.wake} 66%)`],
      ['deadlock / exception', th.error],
    ];
    clear(this.legend);
    for (const [label, background] of items) {
      const swatch = el('span', { class: 'swatch', 'aria-hidden': 'true' });
      swatch.style.background = background;
      this.legend.append(el('span', { class: 'key' }, swatch, label));
    }
  }

  private drawAxis(w: [number, number]): void {
    const x = scaleLinear().domain(w).range([0, this.plotWidth()]);
    const span = w[1] - w[0];
    const axis = axisTop<number>(x).ticks(Math.max(2, Math.floor(this.plotWidth() / 110))).tickFormat((t) => fmtTime(+t, span));
    const g = select(this.axisSvg).selectAll<SVGGElement, null>('g.ticks').data([null]).join('g').attr('class', 'ticks')
      .attr('transform', `translate(${this.gutter},${AXIS_H - 1})`);
    g.call(axis);
  }

  // ---------------------------------------------------------------- pointer and keys

  private mouseInPlot(e: MouseEvent): boolean {
    const r = this.canvas.getBoundingClientRect();
    return e.clientX - r.left >= this.gutter;
  }

  /** The lane/process row whose name is under the pointer, when it is over the lane-name column. */
  private gutterRow(e: MouseEvent): LayoutRow | undefined {
    const r = this.canvas.getBoundingClientRect();
    if (e.clientX - r.left >= this.gutter) return undefined;
    return rowAt(this.layout, e.clientY - r.top + this.viewport.scrollTop);
  }

  private hover(e: MouseEvent): void {
    this.mouse = { x: e.clientX, y: e.clientY };
    const row = this.gutterRow(e);
    let lines: string[];
    if (row) lines = rowTooltipLines(row);
    else {
      const s = this.pickAt(e.clientX, e.clientY);
      if (!s) { this.tooltip.hidden = true; return; }
      lines = tooltipLines(this.model, s);
    }
    clear(this.tooltip);
    for (const [i, line] of lines.entries()) this.tooltip.append(el(i === 0 ? 'strong' : 'div', {}, line));
    const host = this.tooltip.parentElement!.getBoundingClientRect();
    this.tooltip.style.left = `${Math.max(0, Math.min(e.clientX - host.left + 14, host.width - 320))}px`;
    this.tooltip.style.top = `${e.clientY - host.top + 16}px`;
    this.tooltip.hidden = false;
  }

  private click(e: MouseEvent): void {
    this.canvas.focus();
    // The mouseup that ends a shift+drag range selection is not a click on an item.
    if (this.swallowClick) { this.swallowClick = false; return; }
    const row = this.gutterRow(e);
    if (row) {
      // A click on a name selects that lane (or process / pool), not whatever lies before the window.
      const s: Selection | undefined = row.lane ? { type: 'lane', lane: row.lane } : row.process ? { type: 'process', process: row.process } :
        row.pool !== undefined ? { type: 'pool', pool: row.pool } : undefined;
      this.select(s, true);
      return;
    }
    if (!this.window) return;
    this.select(this.pickAt(e.clientX, e.clientY), true);
  }

  /** The plot geometry arrows are drawn with (render/draw), for arrow hit testing. */
  private plotGeometry(): PlotGeometry | undefined {
    return this.window ? { t0: this.window[0], t1: this.window[1], x0: this.gutter, width: this.plotWidth() } : undefined;
  }

  /**
   * What a click at client (x, y) selects: markers and instants first (small, drawn on top), then an
   * arrow passing within a few pixels, then the interval, counted bar, lane or header underneath.
   */
  private pickAt(clientX: number, clientY: number): Selection | undefined {
    const g = this.plotGeometry();
    if (!g) return undefined;
    const r = this.canvas.getBoundingClientRect();
    const x = clientX - r.left;
    if (x < this.gutter) return undefined;
    const y = clientY - r.top + this.viewport.scrollTop;
    const usPerPx = (g.t1 - g.t0) / g.width;
    const s = hitTest(this.model, this.layout, g.t0 + (x - g.x0) * usPerPx, y, usPerPx * 4);
    if (s?.type === 'marker' || s?.type === 'instant') return s;
    const hidden = this.hiddenKinds.size ? (a: Arrow) => !this.hiddenKinds.has(`arrow:${a.kind}`) : undefined;
    const arrow = arrowAt(this.model, this.layout, g, x, y, 4, hidden);
    return arrow ? { type: 'arrow', arrow } : s;
  }

  select(s: Selection | undefined, fromClick: boolean): void {
    this.selected = s;
    if (s?.type === 'interval' && s.iv.obj !== undefined && (s.iv.k === 'lock.wait' || s.iv.k === 'lock.hold')) this.lock = s.iv.obj;
    else if (fromClick) this.lock = undefined;
    renderDetails(this.details, this.model, s, this.actions);
    // Selecting is asking for the details: a collapsed pane opens (the user can close it again).
    if (s && !this.sidePane.open) this.sidePane.setOpen(true);
    if (this.summaryShown && fromClick && s) this.showTab('details');
    const loc = selectionLoc(s);
    if (fromClick && loc) this.openSource(loc);
    this.requestDraw();
    this.saveState();
  }

  private openSource(loc: string): void {
    const p = parseLoc(loc);
    if (p && this.host.live) this.host.post({ type: 'openSource', file: p.file, line: p.line });
  }

  private key(e: KeyboardEvent): void {
    const t = e.target as HTMLElement | null;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA')) return;
    if (!this.window || e.ctrlKey || e.metaKey || e.altKey) return;
    const [t0, t1] = this.window;
    const span = t1 - t0;
    // Zoom around the mouse when it is over the plot, else the centre (Perfetto's W/A/S/D).
    let focus = t0 + span / 2;
    if (this.mouse) {
      const r = this.canvas.getBoundingClientRect();
      const px = this.mouse.x - r.left - this.gutter;
      if (px >= 0 && px <= this.plotWidth()) focus = t0 + (px / this.plotWidth()) * span;
    }
    const zoomBy = (f: number) => this.setWindow(focus - (focus - t0) * f, focus + (t1 - focus) * f);
    switch (e.key.toLowerCase()) {
      case 'w': zoomBy(0.8); break;
      case 's': zoomBy(1.25); break;
      case 'a': this.setFollow(false); this.setWindow(t0 - span * 0.1, t1 - span * 0.1); break;
      case 'd': this.setFollow(false); this.setWindow(t0 + span * 0.1, t1 + span * 0.1); break;
      case 'f': this.zoomToSelection(); break;
      case '0': this.fitAll(); break;
      case 'escape':
        // Esc first cancels a range being brushed; only then does it clear the selection.
        if (this.cancelBrush()) break;
        this.select(undefined, true); this.filterPop.hidden = true; break;
      default: return;
    }
    e.preventDefault();
  }

  private nextMatch(): void {
    if (!this.window) return;
    // The next match after the centre of the view, wrapping round to the first one.
    const found = this.findMatch((this.window[0] + this.window[1]) / 2) ?? this.findMatch(-Infinity);
    if (!found) return;
    const span = this.window[1] - this.window[0];
    this.select(found.s, false);
    this.setWindow(found.t - span / 2, found.t + span / 2);
    const key = found.s.type === 'interval' ? found.s.iv.lane.key : found.s.type === 'instant' ? found.s.inst.lane.key : '';
    const r = this.layout.byLane.get(key);
    if (r && (r.y < this.viewport.scrollTop || r.y > this.viewport.scrollTop + this.height - 20)) this.viewport.scrollTop = Math.max(0, r.y - 40);
  }

  private findMatch(after: number): { t: number; s: Selection } | undefined {
    const q = this.search;
    if (!q) return undefined;
    let best: { t: number; s: Selection } | undefined;
    for (const lane of this.model.lanes.values()) {
      if (!this.layout.byLane.has(lane.key)) continue;
      for (const row of lane.rows) {
        for (let i = 0; i < row.length; i++) {
          const iv = row.items[i];
          if (row.starts[i] <= after || (best && row.starts[i] >= best.t)) continue;
          if (intervalLabel(this.model, iv).toLowerCase().includes(q)) { best = { t: row.starts[i], s: { type: 'interval', iv } }; break; }
        }
      }
      for (const inst of lane.instants.items) {
        if (inst.ev.ts <= after || (best && inst.ev.ts >= best.t)) continue;
        const p = inst.ev.a?.preview;
        if (kindLabel(inst.ev).toLowerCase().includes(q) || (typeof p === 'string' && p.toLowerCase().includes(q))) { best = { t: inst.ev.ts, s: { type: 'instant', inst } }; break; }
      }
    }
    return best;
  }

  // ---------------------------------------------------------------- persistence

  private saveState(): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      const s = this.selected;
      const sel = s?.type === 'interval' ? { lane: s.iv.lane.key, ts: s.iv.start } : s?.type === 'instant' ? { lane: s.inst.lane.key, ts: s.inst.ev.ts } :
        s?.type === 'marker' ? { lane: s.marker.lane, ts: s.marker.ts } :
        s?.type === 'arrow' ? { lane: s.arrow.fromLane, ts: s.arrow.from.ts, to: { lane: s.arrow.toLane, ts: s.arrow.to.ts } } : null;
      this.host.setState({
        window: this.fitted ? undefined : this.window,
        selected: sel,
        hiddenKinds: [...this.hiddenKinds],
        hiddenLanes: [...this.hiddenLanes],
        search: this.searchInput.value,
        followLive: this.followLive,
        sidePane: this.sidePane.saved,
      });
    }, 250);
  }

  private restore(s: ViewState): void {
    if (Array.isArray(s.window) && s.window.length === 2 && s.window[1] > s.window[0]) { this.window = [s.window[0], s.window[1]]; this.fitted = false; }
    for (const k of s.hiddenKinds ?? []) if (typeof k === 'string') this.hiddenKinds.add(k);
    for (const k of s.hiddenLanes ?? []) if (typeof k === 'string') this.hiddenLanes.add(k);
    if (typeof s.search === 'string') { this.searchInput.value = s.search; this.search = s.search.trim().toLowerCase(); }
    if (s.followLive) this.setFollow(true);
    if (s.selected && typeof s.selected.lane === 'string' && typeof s.selected.ts === 'number') {
      const to = s.selected.to;
      this.pendingSelected = { lane: s.selected.lane, ts: s.selected.ts,
        ...(to && typeof to.lane === 'string' && typeof to.ts === 'number' ? { to: { lane: to.lane, ts: to.ts } } : {}) };
    }
  }

  /**
   * Test hook (read-only): client coordinates of the first item of `kind` drawn on screen where a click
   * picks exactly that item — an interval kind ('lock.hold', 'lock.wait', ...) or 'arrow' / 'arrow:<kind>'.
   * Also returns the item's source location. Undefined when none is in view.
   */
  locate(kind: string): { x: number; y: number; clientX: number; clientY: number; loc?: string; lane: string } | undefined {
    const g = this.plotGeometry();
    if (!g) return undefined;
    const r = this.canvas.getBoundingClientRect();
    const top = this.viewport.scrollTop;
    const onScreen = (x: number, y: number) => x >= this.gutter + 2 && x <= this.width - 2 && y - top >= 2 && y - top <= this.height - 2;
    // Whole client pixels, checked there: a mouse event at a fractional position arrives rounded, and
    // half a pixel can bring an instant (picked before arrows) within reach.
    const pickAtPlot = (x: number, y: number) => this.pickAt(Math.round(r.left + x), Math.round(r.top + y - top));
    const found = (x: number, y: number, s: Selection, lane: string) =>
      ({ x, y: y - top, clientX: Math.round(r.left + x), clientY: Math.round(r.top + y - top), loc: selectionLoc(s), lane });
    const k = g.width / Math.max(1e-9, g.t1 - g.t0);
    if (kind === 'arrow' || kind.startsWith('arrow:')) {
      const want = kind.slice(6);
      for (const a of visibleArrows(this.model.arrows, g.t0, g.t1, (key) => this.layout.byLane.has(key))) {
        if (want && a.kind !== want) continue;
        const seg = arrowSegment(a, this.layout, g);
        if (!seg) continue;
        const x = (seg[0] + seg[2]) / 2, y = (seg[1] + seg[3]) / 2;
        const s = pickAtPlot(x, y);
        if (onScreen(x, y) && s?.type === 'arrow' && s.arrow === a) return found(x, y, s, a.fromLane);
      }
      return undefined;
    }
    for (const row of this.layout.rows) {
      const lane = row.lane;
      if (!lane) continue;
      for (const [depth, spans] of lane.rows.entries()) {
        for (const iv of spans.overlapping(g.t0, g.t1)) {
          if (iv.k !== kind) continue;
          const end = iv.end === Infinity ? this.model.now : iv.end;
          const x0 = g.x0 + (Math.max(iv.start, g.t0) - g.t0) * k, x1 = g.x0 + (Math.min(end, g.t1) - g.t0) * k;
          if (x1 - x0 < 4) continue;
          const x = (x0 + x1) / 2, y = row.y + (row.rowsY ?? 0) + depth * ROW_H + ROW_H / 2;
          const s = pickAtPlot(x, y);
          if (onScreen(x, y) && s?.type === 'interval' && s.iv === iv) return found(x, y, s, lane.key);
        }
      }
    }
    return undefined;
  }

  /** For tests and the benchmark: the last drawn statistics. */
  get drawn(): DrawStats | undefined {
    return this.lastStats;
  }
}

/** A lane name may be cut with an ellipsis in a narrow column: the tooltip gives it whole. */
function rowTooltipLines(row: LayoutRow): string[] {
  const lines = [row.label];
  if (row.detail) lines.push(row.detail);
  const l = row.lane;
  if (l) lines.push(`${l.kind} · pid ${l.pid} · tid ${l.tid}${l.obj !== undefined ? ` · obj ${l.obj}` : ''}`);
  return lines;
}

/** The source line a selection stands for (an arrow: where it was sent, else where it arrived). */
function selectionLoc(s: Selection | undefined): string | undefined {
  switch (s?.type) {
    case 'interval': return s.iv.begin.loc ?? s.iv.close?.loc;
    case 'instant': return s.inst.ev.loc;
    case 'marker': return s.marker.ev.loc;
    case 'arrow': return s.arrow.from.loc ?? s.arrow.to.loc;
    default: return undefined;
  }
}

function tooltipLines(model: TimelineModel, s: Selection): string[] {
  const d = describe(model, s);
  if (s.type === 'arrow') {
    // "message 0.3 ms: 'item 4' (28 B)", then where it went from and to.
    const lines = [arrowCaption(s.arrow)];
    for (const [k, v] of d.fields) if (k === 'from' || k === 'to' || k === 'object') lines.push(`${k}: ${v}`);
    return lines;
  }
  const lines = [d.title];
  for (const [k, v] of d.fields) if (k !== 'lane' || s.type !== 'interval') lines.push(`${k}: ${v}`);
  const ev = d.events[0];
  const preview = ev?.a?.preview;
  if (typeof preview === 'string') lines.push(`payload: ${preview}`);
  if (ev?.loc) lines.push(ev.loc);
  if (s.type === 'interval' && s.iv.end !== Infinity) lines[0] += ` — ${fmtDuration(s.iv.end - s.iv.start)}`;
  return lines.slice(0, 8);
}
