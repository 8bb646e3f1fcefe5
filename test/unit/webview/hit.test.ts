import * as assert from 'assert';
import { TraceEvent } from '../../../protocol';
import { TimelineModel, layout, hitTest, rowAt, ROW_H, HEADER_H, CPU_H, fmtDuration } from '../../../webview/model';

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
