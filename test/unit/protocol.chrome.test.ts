import * as assert from 'assert';
import { readChromeText, toChrome, TraceEvent, linkAll, kindCodes, PRODUCER, laneKey, laneObj } from '../../protocol';

const ev = (e: Partial<TraceEvent> & Pick<TraceEvent, 'k' | 'ph' | 'ts'>): TraceEvent => ({ pid: 10, tid: 10, ...e });

describe('protocol: Chrome trace writer and reader', () => {
  const events: TraceEvent[] = [
    ev({ k: 'process.start', ph: 'i', ts: 0, a: { ppid: 1, name: 'main', method: 'main' } }),
    ev({ k: 'thread.spawn', ph: 'i', ts: 1, corr: 500, a: { name: 'T1' } }),
    ev({ k: 'thread.run', ph: 'b', ts: 2, tid: 11, corr: 500, a: { name: 'T1', daemon: false, kind: 'thread' } }),
    ev({ k: 'lock.wait', ph: 'b', ts: 3, tid: 11, obj: 7, loc: '/x/a.py:4' }),
    ev({ k: 'lock.wait', ph: 'e', ts: 9, tid: 11, obj: 7, a: { ok: true } }),
    ev({ k: 'lock.hold', ph: 'b', ts: 9, tid: 11, obj: 7 }),
    ev({ k: 'msg.send', ph: 'i', ts: 12, tid: 11, obj: 8, corr: 600, a: { preview: '</script><b>x</b>', size: 3 } }),
    ev({ k: 'msg.recv', ph: 'i', ts: 14, pid: 20, tid: 20, obj: 8, corr: 600 }),
    ev({ k: 'cpu.thread', ph: 'C', ts: 15, tid: 11, a: { pct: 55 } }),
    ev({ k: 'thread.run', ph: 'e', ts: 16, tid: 11, corr: 501 }),
    ev({ k: 'thread.join', ph: 'e', ts: 17, corr: 501, a: { target: 11 } }),
  ];

  it('writes intervals as X slices, keeps unclosed ones as unfinished, and adds flow pairs for links', () => {
    const t = toChrome(events, { mode: 'default' });
    assert.strictEqual(t.metadata?.producer, PRODUCER);
    assert.deepStrictEqual(t.metadata?.kinds, kindCodes());
    const wait = t.traceEvents.find((c) => c.args?.k === 'lock.wait');
    assert.ok(wait);
    assert.strictEqual(wait.ph, 'X');
    assert.strictEqual(wait.dur, 6);
    assert.strictEqual(wait.args?.loc, '/x/a.py:4');
    assert.strictEqual(wait.args?.ok, true);
    const hold = t.traceEvents.find((c) => c.args?.k === 'lock.hold');
    assert.strictEqual(hold?.args?.unfinished, true);
    assert.strictEqual(hold?.dur, 17 - 9);
    // spawn→run, send→recv (across processes), run end→join
    assert.strictEqual(t.traceEvents.filter((c) => c.ph === 's').length, 3);
    assert.strictEqual(t.traceEvents.filter((c) => c.ph === 'f').length, 3);
    assert.ok(t.traceEvents.some((c) => c.ph === 'M' && c.name === 'thread_name' && c.args?.name === 'T1'));
  });

  it('reads its own output back into the same events (intervals as X)', () => {
    const back = readChromeText(JSON.stringify(toChrome(events)));
    assert.ok(back.ours);
    assert.deepStrictEqual(back.warnings, []);
    const wait = back.events.find((e) => e.k === 'lock.wait');
    assert.deepStrictEqual(wait, { k: 'lock.wait', ph: 'X', ts: 3, dur: 6, pid: 10, tid: 11, obj: 7, loc: '/x/a.py:4', a: { ok: true } });
    const send = back.events.find((e) => e.k === 'msg.send');
    assert.deepStrictEqual(send, events[6]);
    const cpu = back.events.find((e) => e.k === 'cpu.thread');
    assert.deepStrictEqual(cpu, events[8]);
    // links survive the round trip (re-derived from corr, flow records themselves are not duplicated)
    assert.strictEqual(linkAll(back.events).length, 3);
  });

  it('links a task recorded as one X at both ends: submit -> task -> result, also after a round trip', () => {
    const submit: TraceEvent = { k: 'pool.submit', ph: 'i', ts: 1, pid: 1, tid: 1, corr: 9 };
    const task: TraceEvent = { k: 'pool.task', ph: 'X', ts: 5, dur: 10, pid: 1, tid: 2, corr: 9 };
    const result: TraceEvent = { k: 'pool.result', ph: 'i', ts: 20, pid: 1, tid: 1, corr: 9 };
    const links = linkAll([submit, task, result]);
    assert.deepStrictEqual(links.map((l) => [l.from.k, l.from.ts, l.to.k, l.to.ts]),
      [['pool.submit', 1, 'pool.task', 5], ['pool.task', 15, 'pool.result', 20]]);
    const chrome = toChrome([submit, task, result]);
    // Perfetto's flow records: the result's arrow leaves the task where it ended
    const starts = chrome.traceEvents.filter((c) => c.ph === 's').map((c) => c.ts);
    assert.deepStrictEqual(starts.sort((a, b) => a - b), [1, 15]);
    const back = readChromeText(JSON.stringify(chrome));
    assert.strictEqual(linkAll(back.events).length, 2);
  });

  it('repairs a truncated file up to the last complete event and says so', () => {
    const text = JSON.stringify(toChrome(events));
    const cut = text.slice(0, text.indexOf('"k":"msg.send"') + 5);
    const r = readChromeText(cut);
    assert.match(r.warnings[0], /truncated/);
    assert.ok(r.events.some((e) => e.k === 'lock.wait'));
    assert.ok(!r.events.some((e) => e.k === 'msg.send'));
  });

  it('reads generic traces from other tools as slices, counters and flows', () => {
    const generic = [
      { name: 'work', cat: 'FEE', ph: 'X', ts: 100, dur: 5, pid: 1, tid: 2 },
      { name: 'B', ph: 'B', ts: 101, pid: 1, tid: 2 },
      { name: 'B', ph: 'E', ts: 102, pid: 1, tid: 2 },
      { name: 'mem', ph: 'C', ts: 103, pid: 1, tid: 1, args: { heap: 12, label: 'x' } },
      { name: 'f', ph: 's', id: '0xab', ts: 104, pid: 1, tid: 2 },
      { name: 'f', ph: 'f', id: '0xab', bp: 'e', ts: 105, pid: 3, tid: 4 },
      { name: 'thread_name', ph: 'M', pid: 1, tid: 2, args: { name: 'MainThread' } },
      { name: 'weird', ph: 'P', ts: 1, pid: 1, tid: 2 },
    ];
    const r = readChromeText(JSON.stringify({ traceEvents: generic }));
    assert.strictEqual(r.ours, false);
    assert.deepStrictEqual(r.events.map((e) => `${e.k}/${e.ph}`), [
      'generic.slice/X', 'generic.slice/b', 'generic.slice/e', 'generic.counter/C',
      'generic.flow/i', 'generic.flow/i', 'thread.name/i',
    ]);
    assert.deepStrictEqual(r.events[3].a, { name: 'mem', values: { heap: 12 } });
    assert.strictEqual(linkAll(r.events).length, 1);
    assert.match(r.warnings[0], /1 event/);
  });

  it('rejects text that is not a trace with a clear message', () => {
    assert.throws(() => readChromeText('hello'), /not a Chrome trace/);
    assert.throws(() => readChromeText('{"foo": 1}'), /expected \{"traceEvents"/);
  });
});

describe('protocol: arrows from correlation ids', () => {
  it('fans a notify out to every woken waiter and consumes plain sources', () => {
    const notify = ev({ k: 'sync.notify', ph: 'i', ts: 5, corr: 1 });
    const w1 = ev({ k: 'sync.wait', ph: 'e', ts: 6, tid: 11, corr: 1 });
    const w2 = ev({ k: 'sync.wait', ph: 'e', ts: 7, tid: 12, corr: 1 });
    assert.strictEqual(linkAll([w2, notify, w1]).length, 2);
    const send = ev({ k: 'msg.send', ph: 'i', ts: 5, corr: 2 });
    const r1 = ev({ k: 'msg.recv', ph: 'i', ts: 6, tid: 11, corr: 2 });
    const r2 = ev({ k: 'msg.recv', ph: 'i', ts: 7, tid: 12, corr: 2 });
    assert.deepStrictEqual(linkAll([send, r1, r2]).map((l) => l.to), [r1]);
  });

  it('does not draw links within one lane and orders a source before a destination at equal times', () => {
    const send = ev({ k: 'msg.send', ph: 'i', ts: 5, corr: 3 });
    const sameLane = ev({ k: 'msg.recv', ph: 'i', ts: 6, corr: 3 });
    assert.strictEqual(linkAll([send, sameLane]).length, 0);
    const recv = ev({ k: 'msg.recv', ph: 'i', ts: 5, tid: 99, corr: 4 });
    const send2 = ev({ k: 'msg.send', ph: 'i', ts: 5, corr: 4 });
    assert.strictEqual(linkAll([recv, send2]).length, 1);
  });

  it('links two asyncio tasks on one thread through a.task (their lanes), but not a task to itself', () => {
    const producer = 10 * 2 ** 22 + 1, consumer = 10 * 2 ** 22 + 2;
    const send = ev({ k: 'msg.send', ph: 'i', ts: 5, obj: 77, corr: 12, a: { preview: '0', size: 28, task: producer } });
    const recv = ev({ k: 'msg.recv', ph: 'i', ts: 6, obj: 77, corr: 12, a: { size: 28, task: consumer } });
    assert.strictEqual(laneObj(send), producer);
    assert.strictEqual(laneKey(recv), `10/10/${consumer}`);
    assert.deepStrictEqual(linkAll([recv, send]), [{ from: send, to: recv }]);
    // the same task putting and getting: one lane, no arrow
    assert.strictEqual(linkAll([send, { ...recv, a: { task: producer } }]).length, 0);
    // a.task that is not a number does not name a lane
    assert.strictEqual(laneObj({ k: 'msg.send', a: { task: 'x' } }), undefined);
    // the task's own kinds keep using obj; a.task survives the Chrome round trip and the link is re-derived
    assert.strictEqual(laneObj({ k: 'async.step', obj: consumer, a: { task: producer } }), consumer);
    const back = readChromeText(JSON.stringify(toChrome([send, recv]))).events;
    assert.deepStrictEqual(back.map((e) => e.a?.task), [producer, consumer]);
    assert.strictEqual(linkAll(back).length, 1);
  });

  it('chains a pool task: submit → worker → result', () => {
    const g = [
      ev({ k: 'pool.submit', ph: 'i', ts: 1, corr: 9 }),
      ev({ k: 'pool.task', ph: 'b', ts: 2, pid: 20, tid: 20, corr: 9 }),
      ev({ k: 'pool.task', ph: 'e', ts: 3, pid: 20, tid: 20, corr: 9 }),
      ev({ k: 'pool.result', ph: 'i', ts: 4, tid: 12, corr: 9 }),
    ];
    assert.deepStrictEqual(linkAll(g).map((l) => [l.from.ts, l.to.ts]), [[1, 2], [3, 4]]);
  });
});
