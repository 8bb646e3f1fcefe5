/** Hit testing: which item is under a point (time, y in layout coordinates). Pure, like culling. */
import type { ArrowIndex } from './arrows';
import { visibleArrows, visiblePoints } from './cull';
import { ROW_H, AGG_H, type Layout, type LayoutRow } from './layout';
import type { Arrow, Instant, Interval, Marker, ProcessInfo, Lane } from './types';
import type { TimelineModel } from './timeline';

export type Selection =
  | { type: 'interval'; iv: Interval }
  | { type: 'instant'; inst: Instant }
  | { type: 'marker'; marker: Marker }
  | { type: 'lane'; lane: Lane }
  | { type: 'process'; process: ProcessInfo }
  | { type: 'pool'; pool: number }
  /** A message / task / join / wake-up / spawn arrow (both ends are in `arrow`). */
  | { type: 'arrow'; arrow: Arrow };

/** The layout row at y (rows are contiguous and sorted by y). */
export function rowAt(l: Layout, y: number): LayoutRow | undefined {
  let lo = 0, hi = l.rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (l.rows[mid].y + l.rows[mid].height <= y) lo = mid + 1;
    else hi = mid;
  }
  const r = l.rows[lo];
  return r && y >= r.y ? r : undefined;
}

/**
 * `slopUs`: how far (in µs, a few pixels' worth) a click may miss an instant or marker.
 * Markers and instants win over intervals: they are small and drawn on top.
 */
export function hitTest(model: TimelineModel, l: Layout, t: number, y: number, slopUs: number): Selection | undefined {
  const row = rowAt(l, y);
  if (!row) return undefined;
  if (row.type === 'process' && row.process) return { type: 'process', process: row.process };
  if (row.type === 'pool' && row.pool !== undefined) return { type: 'pool', pool: row.pool };
  const lane = row.lane;
  if (!lane) return undefined;
  let best: Marker | undefined;
  for (const m of model.markers) {
    if (!m.lanes.includes(lane.key) && m.lane !== lane.key) continue;
    if (Math.abs(m.ts - t) <= slopUs && (!best || Math.abs(m.ts - t) < Math.abs(best.ts - t))) best = m;
  }
  if (best) return { type: 'marker', marker: best };
  const near = visiblePoints(lane.instants, t - slopUs, t + slopUs, 0);
  if (near.length) {
    near.sort((a, b) => Math.abs(a.start - t) - Math.abs(b.start - t));
    return { type: 'instant', inst: near[0].item };
  }
  const inLane = y - row.y - (row.rowsY ?? 0);
  const depth = Math.floor(inLane / ROW_H);
  if (depth >= 0 && depth < lane.rows.length) {
    const hits = lane.rows[depth].overlapping(t, t).filter((iv) => iv.start <= t);
    const iv = hits.length ? hits[hits.length - 1] : nearest(lane.rows[depth].overlapping(t - slopUs, t + slopUs), t);
    if (iv) return { type: 'interval', iv };
  }
  const aggTop = row.aggY ?? Infinity;
  if (y - row.y >= aggTop && y - row.y < aggTop + AGG_H) {
    const ag = nearest(lane.aggregates.overlapping(t - slopUs, t + slopUs), t);
    if (ag) return { type: 'interval', iv: ag };
  }
  return { type: 'lane', lane };
}

function nearest(ivs: Interval[], t: number): Interval | undefined {
  let best: Interval | undefined;
  let bd = Infinity;
  for (const iv of ivs) {
    const d = t < iv.start ? iv.start - t : t > iv.end ? t - iv.end : 0;
    if (d < bd) { bd = d; best = iv; }
  }
  return best;
}

/** The y (layout px) where arrows meet a lane: the middle of its first interval row. */
export function laneMidY(r: LayoutRow): number {
  return r.y + (r.rowsY ?? 0) + ROW_H / 2;
}

/** Distance from (px, py) to the segment (x0, y0)–(x1, y1), in the same units. */
export function distToSegment(px: number, py: number, x0: number, y0: number, x1: number, y1: number): number {
  const dx = x1 - x0, dy = y1 - y0;
  const len2 = dx * dx + dy * dy;
  // Degenerate segment (both ends on one pixel): the distance to that point.
  const u = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - x0) * dx + (py - y0) * dy) / len2));
  return Math.hypot(px - (x0 + u * dx), py - (y0 + u * dy));
}

/** Where the plot is on screen: the visible window mapped onto [x0, x0 + width] px. */
export interface PlotGeometry {
  t0: number;
  t1: number;
  /** Left edge of the plot (the lane-name column's width) and its width, CSS px. */
  x0: number;
  width: number;
}

/** The screen segment an arrow is drawn as (x in plot px, y in layout px), as render/draw draws it. */
export function arrowSegment(a: Arrow, l: Layout, g: PlotGeometry): [number, number, number, number] | undefined {
  const fr = l.byLane.get(a.fromLane), tr = l.byLane.get(a.toLane);
  if (!fr || !tr) return undefined;
  const k = g.width / Math.max(1e-9, g.t1 - g.t0);
  return [g.x0 + (a.from.ts - g.t0) * k, laneMidY(fr), g.x0 + (a.to.ts - g.t0) * k, laneMidY(tr)];
}

/**
 * The arrow drawn nearest to (x, y) — x in plot px, y in layout px — within `maxPx`, among live arrows
 * with both lanes shown and a kind `accept`ed. An arrow whose segment passes within maxPx of x spans
 * x's time ± maxPx, so only those candidates are measured.
 */
export function arrowAt(model: TimelineModel, l: Layout, g: PlotGeometry, x: number, y: number, maxPx = 4, accept?: (a: Arrow) => boolean): Arrow | undefined {
  const usPerPx = (g.t1 - g.t0) / Math.max(1, g.width);
  const t = g.t0 + (x - g.x0) * usPerPx;
  const slop = maxPx * usPerPx;
  let best: Arrow | undefined;
  let bestD = maxPx;
  for (const a of visibleArrows(model.arrows, t - slop, t + slop, (k) => l.byLane.has(k), accept)) {
    const s = arrowSegment(a, l, g);
    if (!s) continue;
    const d = distToSegment(x, y, s[0], s[1], s[2], s[3]);
    if (d <= bestD) { bestD = d; best = a; }
  }
  return best;
}


/** The live arrow from (fromLane, fromTs) to (toLane, toTs): how a saved arrow selection is found again. */
export function findArrow(index: ArrowIndex, fromLane: string, fromTs: number, toLane: string, toTs: number): Arrow | undefined {
  // Arrows are indexed by the span between their ends: only those overlapping the earlier end are looked at.
  const t = Math.min(fromTs, toTs);
  return index.spans.overlapping(t, t).find((a) =>
    a.alive && a.fromLane === fromLane && a.toLane === toLane && a.from.ts === fromTs && a.to.ts === toTs);
}
