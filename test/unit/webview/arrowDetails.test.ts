import * as assert from 'assert';
import type { Args } from '../../../protocol';
import { TimelineModel } from '../../../webview/model';
import { argText, arrowCaption, arrowPayload, describe as describeSelection } from '../../../webview/ui/panels';

describe('webview panels: an arrow in the tooltip and the details pane', () => {
  const A = 20, B = 30, CHAN = 7;
  const model = (send: Args, recv: Args = {}) => {
    const m = new TimelineModel();
    m.append([
      { k: 'process.start', ph: 'i', ts: 0, pid: A, tid: A, a: { ppid: 1, name: 'a' } },
      { k: 'thread.name', ph: 'i', ts: 0, pid: A, tid: A, a: { name: 'producer' } },
      { k: 'process.start', ph: 'i', ts: 0, pid: B, tid: B, a: { ppid: A, name: 'b' } },
      { k: 'chan.create', ph: 'i', ts: 1, pid: A, tid: A, obj: CHAN, a: { type: 'mp.Queue', name: 'jobs' } },
      { k: 'msg.send', ph: 'i', ts: 1000, pid: A, tid: A, obj: CHAN, corr: 1, a: send },
      { k: 'msg.recv', ph: 'i', ts: 1300, pid: B, tid: B, obj: CHAN, corr: 1, a: recv },
    ]);
    const arrow = m.arrows.spans.items[0];
    assert.ok(arrow, 'the send and the receive are paired');
    return { m, arrow };
  };

  it('captions an arrow with its kind, latency, payload text and size', () => {
    const { arrow } = model({ preview: "'item 4'", size: 28 });
    assert.strictEqual(arrowCaption(arrow), "message 300 µs: 'item 4' (28 B)");
    // no payload recorded at the sending end: the receiving end's; no size: none shown
    const other = model({}, { preview: "'late'" }).arrow;
    assert.deepStrictEqual(arrowPayload(other), { preview: "'late'", size: undefined });
    assert.strictEqual(arrowCaption(other), "message 300 µs: 'late'");
  });

  it('describes both ends, the latency (to.ts − from.ts), the channel and the payload', () => {
    const { m, arrow } = model({ preview: '<b>x</b>', size: 2048 });
    const d = describeSelection(m, { type: 'arrow', arrow });
    const f = Object.fromEntries(d.fields);
    assert.strictEqual(d.title, 'message arrow: send → receive');
    assert.match(f.from, new RegExp(`^send on producer \\(${A}/${A}\\) at `));
    assert.match(f.to, new RegExp(`^receive on .* \\(${B}/${B}\\) at `));
    assert.strictEqual(f.latency, '300 µs');
    assert.strictEqual(f.object, 'jobs (mp.Queue)');
    assert.strictEqual(f.payload, '<b>x</b>', 'the payload as its text');
    assert.strictEqual(f.size, '2 KiB');
    assert.deepStrictEqual(d.events.map((e) => e.k), ['msg.send', 'msg.recv']);
    assert.deepStrictEqual(d.eventLabels, ['from event', 'to event']);
  });
});

describe('webview panels: event args in the details pane', () => {
  it("names a lock wait's holder by its thread, and leaves other numbers and unknown threads as they are", () => {
    const m = new TimelineModel();
    m.append([
      { k: 'thread.name', ph: 'i', ts: 0, pid: 5, tid: 7, a: { name: 'worker-7' } },
      { k: 'lock.wait', ph: 'X', ts: 10, dur: 5, pid: 5, tid: 8, obj: 3, a: { ok: true, holder: 7 } },
    ]);
    const wait = { k: 'lock.wait' as const, ph: 'X' as const, ts: 10, dur: 5, pid: 5, tid: 8, obj: 3 };
    assert.strictEqual(argText(m, wait, 'holder', 7), '7 — worker-7');
    assert.strictEqual(argText(m, wait, 'holder', 99), '99');
    assert.strictEqual(argText(m, wait, 'ok', true), 'true');
    assert.strictEqual(argText(m, wait, 'preview', "'x'"), "'x'");
  });

  it('says what an untimed release (a.approx) stands for', () => {
    const m = new TimelineModel();
    const rel = { k: 'lock.release' as const, ph: 'i' as const, ts: 15, pid: 5, tid: 7, obj: 3, corr: 4 };
    assert.match(argText(m, rel, 'approx', true), /only counted.*when the waiter got the lock/);
    assert.strictEqual(argText(m, { ...rel, k: 'lock.fail' }, 'approx', true), 'true');
  });
});

