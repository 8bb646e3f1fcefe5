/** Hit testing: which item is under a point (time, y in layout coordinates). Pure, like culling. */
import { visiblePoints } from './cull';
import { ROW_H, AGG_H, type Layout, type LayoutRow } from './layout';
import type { Instant, Interval, Marker, ProcessInfo, Lane } from './types';
import type { TimelineModel } from './timeline';

export type Selection =
  | { type: 'interval'; iv: Interval }
  | { type: 'instant'; inst: Instant }
  | { type: 'marker'; marker: Marker }
  | { type: 'lane'; lane: Lane }
  | { type: 'process'; process: ProcessInfo }
  | { type: 'pool'; pool: number };

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
