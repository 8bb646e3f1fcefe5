import * as assert from 'assert';
import { TraceEvent } from '../../../protocol';
import { TimelineModel, layout, hitTest, rowAt, ROW_H, HEADER_H, CPU_H, fmtDuration, arrowAt, arrowSegment, distToSegment, laneMidY, PlotGeometry, findArrow } from '../../../webview/model';

const P = 10;
const ev = (e: Partial<TraceEvent> & Pick<TraceEvent, 'k' | 'ph' | 'ts'>): TraceEvent => ({ pid: P, tid: P, ...e });

describe('webview model: hit testing', () => {
  const model = () => {
    const m = new TimelineModel();
    m.append([
      ev({ k: 'process.start', ph: 'i', ts: 0, a: { ppid: 1, name: 'p' } }),
      ev({ k: 'lock.hold', ph: 'X', ts: 100, dur: 100, obj: 5 }),
      ev({ k: 'lock.wait', ph: 'X', ts: 120, dur: 30, obj: 6 }),
      ev({ k: 'msg.send', ph: 'i', ts: 300, obj: 7, corr: 1 }),
      ev({ k: 'exception', ph: 'i', ts: 400, a: { type: 'E' } }),
      { k: 'cpu.thread', ph: 'C', ts: 0, pid: P, tid: P, a: { pct: 10 } },
    ]);
    return m;
  };

  it('lays a lane out below its process header, with the CPU strip above the rows', () => {
    const l = layout(model());
    const lane = l.byLane.get(`${P}/${P}`)!;
    assert.strictEqual(lane.y, HEADER_H);
    assert.strictEqual(lane.rowsY, CPU_H);
    assert.strictEqual(rowAt(l, 0)!.type, 'process');
    assert.strictEqual(rowAt(l, HEADER_H + 1)!.key, `${P}/${P}`);
    assert.strictEqual(rowAt(l, l.height + 5), undefined);
  });

  it('finds the interval at a point by row depth, the instant near it, and markers first', () => {
    const m = model();
    const l = layout(m);
    const lane = l.byLane.get(`${P}/${P}`)!;
    const y0 = lane.y + lane.rowsY! + ROW_H / 2;
    const hold = hitTest(m, l, 130, y0, 1);
    assert.ok(hold?.type === 'interval' && hold.iv.k === 'lock.hold');
    const wait = hitTest(m, l, 130, y0 + ROW_H, 1);
    assert.ok(wait?.type === 'interval' && wait.iv.k === 'lock.wait');
    const send = hitTest(m, l, 302, y0, 5);
    assert.ok(send?.type === 'instant' && send.inst.ev.k === 'msg.send');
    const exc = hitTest(m, l, 401, y0, 5);
    assert.ok(exc?.type === 'marker' && exc.marker.kind === 'exception');
    const empty = hitTest(m, l, 250, y0, 1);
    assert.strictEqual(empty?.type, 'lane');
    assert.strictEqual(hitTest(m, l, 130, 2, 1)?.type, 'process');
  });
});

describe('webview model: formatting', () => {
  it('prints durations with units that suit their size', () => {
    assert.deepStrictEqual([0, 0.5, 850, 12_345, 4_050_000, 125e6, Infinity].map(fmtDuration),
      ['0', '500 ns', '850 µs', '12.3 ms', '4.05 s', '2 min 5 s', 'still open']);
  });
});

describe('webview model: arrow hit testing', () => {
  const A = 20, B = 30;
  // Two processes, one lane each; a message from A's lane at 1000 µs to B's lane at 3000 µs.
  const model = () => {
    const m = new TimelineModel();
    m.append([
      { k: 'process.start', ph: 'i', ts: 0, pid: A, tid: A, a: { ppid: 1, name: 'a' } },
      { k: 'process.start', ph: 'i', ts: 0, pid: B, tid: B, a: { ppid: A, name: 'b' } },
      { k: 'msg.send', ph: 'i', ts: 1000, pid: A, tid: A, obj: 7, corr: 1, a: { preview: "'item 4'", size: 28 } },
      { k: 'msg.recv', ph: 'i', ts: 3000, pid: B, tid: B, obj: 7, corr: 1, a: { preview: "'item 4'" } },
      { k: 'process.exit', ph: 'i', ts: 5000, pid: A, tid: A, a: { code: 0 } },
    ]);
    return m;
  };
  // 0..5000 µs over 500 px starting at x = 100: 10 µs per px.
  const g: PlotGeometry = { t0: 0, t1: 5000, x0: 100, width: 500 };

  it('measures the distance to a segment, its ends and a degenerate one', () => {
    assert.strictEqual(distToSegment(5, 3, 0, 0, 10, 0), 3);          // above the middle
    assert.strictEqual(distToSegment(-3, 4, 0, 0, 10, 0), 5);         // past the first end: to that end
    assert.strictEqual(distToSegment(13, -4, 0, 0, 10, 0), 5);        // past the second end
    assert.strictEqual(distToSegment(3, 4, 0, 0, 0, 0), 5);           // both ends on one point
    assert.ok(Math.abs(distToSegment(0, 10, 0, 0, 10, 10) - Math.SQRT2 * 5) < 1e-9); // diagonal
  });

  it('places an arrow where it is drawn: lane middles at the ends\' times', () => {
    const m = model();
    const l = layout(m);
    const a = m.arrows.spans.items[0];
    const [x0, y0, x1, y1] = arrowSegment(a, l, g)!;
    assert.deepStrictEqual([x0, x1], [200, 400]);
    assert.strictEqual(y0, laneMidY(l.byLane.get(`${A}/${A}`)!));
    assert.strictEqual(y1, laneMidY(l.byLane.get(`${B}/${B}`)!));
    assert.ok(y1 > y0, 'the child process is laid out below its parent');
  });

  it('finds the arrow a few pixels off its line and nothing farther away', () => {
    const m = model();
    const l = layout(m);
    const a = m.arrows.spans.items[0];
    const [x0, y0, x1, y1] = arrowSegment(a, l, g)!;
    const mx = (x0 + x1) / 2, my = (y0 + y1) / 2;
    assert.strictEqual(arrowAt(m, l, g, mx, my), a);
    // 3 px off the line, perpendicular to it
    const len = Math.hypot(x1 - x0, y1 - y0);
    const nx = -(y1 - y0) / len, ny = (x1 - x0) / len;
    assert.strictEqual(arrowAt(m, l, g, mx + 3 * nx, my + 3 * ny), a);
    assert.strictEqual(arrowAt(m, l, g, mx + 8 * nx, my + 8 * ny), undefined);
    // beyond the receiving end in time: no candidate at all
    assert.strictEqual(arrowAt(m, l, g, x1 + 20, y1), undefined);
    // a hidden kind is not picked; a hidden lane takes its arrows with it
    assert.strictEqual(arrowAt(m, l, g, mx, my, 4, (x) => x.kind !== 'message'), undefined);
    const hidden = layout(m, { hidden: new Set([`${B}/${B}`]) });
    assert.strictEqual(arrowAt(m, hidden, g, mx, my), undefined);
  });

  it('prefers the nearer of two crossing candidates', () => {
    const m = model();
    m.append([
      { k: 'msg.send', ph: 'i', ts: 1000, pid: B, tid: B, obj: 8, corr: 2, a: { preview: "'back'" } },
      { k: 'msg.recv', ph: 'i', ts: 3000, pid: A, tid: A, obj: 8, corr: 2 },
    ]);
    const l = layout(m);
    const [down, up] = m.arrows.spans.items;
    assert.notStrictEqual(down, up);
    const s = arrowSegment(up, l, g)!;
    // a quarter of the way along the upward arrow: far (in px) from the downward one
    const x = s[0] + (s[2] - s[0]) / 4, y = s[1] + (s[3] - s[1]) / 4;
    assert.strictEqual(arrowAt(m, l, g, x, y)?.to.k, 'msg.recv');
    assert.strictEqual(arrowAt(m, l, g, x, y), up);
  });
});

describe('webview model: finding a saved arrow selection again', () => {
  it('matches both ends (lane and time) of a live arrow, and nothing else', () => {
    const m = new TimelineModel();
    m.append([
      { k: 'process.start', ph: 'i', ts: 0, pid: 20, tid: 20, a: { ppid: 1, name: 'a' } },
      { k: 'process.start', ph: 'i', ts: 0, pid: 30, tid: 30, a: { ppid: 1, name: 'b' } },
      { k: 'msg.send', ph: 'i', ts: 1000, pid: 20, tid: 20, obj: 7, corr: 1 },
      { k: 'msg.recv', ph: 'i', ts: 3000, pid: 30, tid: 30, obj: 7, corr: 1 },
      { k: 'msg.send', ph: 'i', ts: 1500, pid: 20, tid: 20, obj: 7, corr: 2 },
      { k: 'msg.recv', ph: 'i', ts: 3500, pid: 30, tid: 30, obj: 7, corr: 2 },
    ]);
    const [first, second] = [...m.arrows.spans.items].sort((x, y) => x.from.ts - y.from.ts);
    assert.strictEqual(findArrow(m.arrows, '20/20', 1000, '30/30', 3000), first);
    assert.strictEqual(findArrow(m.arrows, '20/20', 1500, '30/30', 3500), second);
    assert.strictEqual(findArrow(m.arrows, '20/20', 1000, '30/30', 3500), undefined);
    assert.strictEqual(findArrow(m.arrows, '30/30', 1000, '20/20', 3000), undefined);
  });
});
