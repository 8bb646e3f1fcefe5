import * as assert from 'assert';
import { MessageCoalescer, Scheduler } from '../../../extension/run/batcher';
import { TraceStore } from '../../../extension/run/traceStore';
import { Trace } from '../../../extension/run/trace';
import type { ToWebview, TraceEvent } from '../../../protocol';

/** A scheduler the test advances by hand. */
class ManualScheduler implements Scheduler {
  private tasks = new Map<number, () => void>();
  private next = 1;
  setTimeout(fn: () => void): unknown {
    const id = this.next++;
    this.tasks.set(id, fn);
    return id;
  }
  clearTimeout(h: unknown): void {
    this.tasks.delete(h as number);
  }
  get pending(): number {
    return this.tasks.size;
  }
  fire(): void {
    const t = [...this.tasks.values()];
    this.tasks.clear();
    for (const f of t) f();
  }
}

const ev = (n: number, extra: Partial<TraceEvent> = {}): TraceEvent => ({ k: 'lock.fail', ph: 'i', ts: n, pid: 1, tid: 1, ...extra });

describe('extension/run/batcher (MessageCoalescer)', () => {
  it('merges events from many socket reads into one post per interval', () => {
    const sched = new ManualScheduler();
    const posted: ToWebview[] = [];
    const out = new MessageCoalescer((m) => { posted.push(m); }, 100, 1000, sched);
    for (let i = 0; i < 50; i++) out.push({ type: 'events', events: [ev(i), ev(i + 0.5)] });
    assert.strictEqual(posted.length, 0, 'nothing is posted before the interval');
    sched.fire();
    assert.strictEqual(posted.length, 1);
    assert.strictEqual(posted[0].type === 'events' && posted[0].events.length, 100);
  });

  it('keeps order, sends status and end at once, and replaces a pending status', async () => {
    const sched = new ManualScheduler();
    const posted: ToWebview[] = [];
    let release!: () => void;
    const out = new MessageCoalescer((m) => {
      posted.push(m);
      return new Promise<void>((r) => (release = r));
    }, 100, 1000, sched);
    const stats = (events: number) => ({ events, dropped: 0, processes: 1, threads: 1, eventsPerSecond: 0 });
    out.push({ type: 'reset', source: { kind: 'live', title: 'x.py' } });
    out.push({ type: 'events', events: [ev(1)] });
    out.push({ type: 'status', running: true, stats: stats(1) });
    out.push({ type: 'events', events: [ev(2)] });
    out.push({ type: 'status', running: true, stats: stats(2) });
    out.push({ type: 'status', running: false, stats: stats(3) });
    out.push({ type: 'end', exitCode: 0 });
    assert.deepStrictEqual(posted.map((m) => m.type), ['reset'], 'one post in flight at a time');
    for (let i = 0; i < 20 && posted.length < 6; i++) {
      release();
      await new Promise((r) => setImmediate(r));
    }
    assert.deepStrictEqual(posted.map((m) => m.type), ['reset', 'events', 'status', 'events', 'status', 'end']);
    const lastStatus = posted[4];
    assert.ok(lastStatus.type === 'status' && !lastStatus.running && lastStatus.stats.events === 3, 'the newest status replaced the pending one');
  });

  it('flushes at once when a batch is full and splits no events', () => {
    const sched = new ManualScheduler();
    const posted: ToWebview[] = [];
    const out = new MessageCoalescer((m) => { posted.push(m); }, 100, 10, sched);
    out.push({ type: 'events', events: Array.from({ length: 10 }, (_, i) => ev(i)) });
    assert.strictEqual(posted.length, 1, 'a full batch does not wait for the timer');
    out.push({ type: 'events', events: Array.from({ length: 4 }, (_, i) => ev(i)) });
    out.clear();
    sched.fire();
    assert.strictEqual(posted.length, 1, 'clear drops what was pending');
  });

  it('survives a receiver that throws', () => {
    const sched = new ManualScheduler();
    let calls = 0;
    const out = new MessageCoalescer(() => { calls++; throw new Error('disposed'); }, 100, 1000, sched);
    out.push({ type: 'warning', message: 'a' });
    out.push({ type: 'warning', message: 'b' });
    assert.strictEqual(calls, 2);
  });
});

describe('extension/run/traceStore', () => {
  it('keeps everything up to the cap', () => {
    const s = new TraceStore(100);
    const r = s.add(Array.from({ length: 100 }, (_, i) => ev(i)));
    assert.strictEqual(r.forward.length, 100);
    assert.strictEqual(r.startedAggregating, false);
    assert.strictEqual(s.aggregation, undefined);
  });

  it('past the cap keeps structure, closes kept intervals and folds the rest into counted aggregates', () => {
    const s = new TraceStore(4);
    const first = s.add([
      { k: 'thread.run', ph: 'b', ts: 0, pid: 1, tid: 2, a: { name: 'T' } },
      { k: 'lock.hold', ph: 'b', ts: 1, pid: 1, tid: 2, obj: 7 },
      ev(2), ev(3),
    ]);
    assert.strictEqual(first.forward.length, 4);
    const holds: TraceEvent[] = [];
    for (let i = 0; i < 1000; i++) holds.push({ k: 'lock.wait', ph: 'X', ts: 10 + i, dur: 1, pid: 1, tid: 2, obj: 7 });
    const second = s.add([
      ...holds,
      { k: 'lock.hold', ph: 'e', ts: 5000, pid: 1, tid: 2, obj: 7 },
      { k: 'lock.hold', ph: 'b', ts: 5001, pid: 1, tid: 2, obj: 7 },
      { k: 'deadlock', ph: 'i', ts: 6000, pid: 1, tid: 2, a: { reason: 'cycle', threads: [] } },
      { k: 'thread.run', ph: 'e', ts: 200_000, pid: 1, tid: 2 },
    ]);
    assert.ok(second.startedAggregating);
    assert.deepStrictEqual(s.aggregation && { since: s.aggregation.sinceTs, after: s.aggregation.afterEvents }, { since: 10, after: 4 });
    const kinds = second.forward.map((e) => `${e.k}/${e.ph}`);
    assert.ok(kinds.includes('lock.hold/e'), 'the e closing a kept b is kept');
    assert.ok(!kinds.includes('lock.hold/b'), 'a new b past the cap is folded');
    assert.ok(kinds.includes('deadlock/i') && kinds.includes('thread.run/e'));
    const flushed = s.flushAggregates();
    const aggs = [...second.forward, ...flushed].filter((e) => e.k === 'aggregate');
    const counted = aggs.reduce((n, e) => n + (e.a!.count as number), 0);
    assert.strictEqual(counted, 1001, 'every folded event is counted');
    assert.strictEqual(s.aggregation!.folded, 1001);
    assert.ok(aggs.every((e) => e.obj === 7 && e.pid === 1 && e.tid === 2 && e.ph === 'X'));
  });
});

describe('extension/run/trace', () => {
  it('replays reset, warnings, events, status and end to a panel that (re)loads', () => {
    const t = new Trace({ kind: 'live', title: 'bank.py' }, 10_000, { running: true, now: 0 });
    const live: ToWebview[] = [];
    const off = t.onMessage((m) => live.push(m));
    t.addEvents([ev(1), ev(2), { k: 'process.summary', ph: 'i', ts: 3, pid: 1, tid: 1, a: { emitted: 3, dropped: 1 } }], 10);
    t.warn('lost 1 batch');
    t.finish(3, null, 20);
    off();
    assert.deepStrictEqual(live.map((m) => m.type), ['events', 'warning', 'status', 'end']);
    const replay = [...t.replay(30)];
    assert.deepStrictEqual(replay.map((m) => m.type), ['reset', 'warning', 'events', 'status', 'end']);
    const end = replay[4];
    assert.ok(end.type === 'end' && end.exitCode === 3);
    assert.deepStrictEqual(end.type === 'end' && end.metadata?.totals, { emitted: 3, dropped: 1 });
    assert.strictEqual(t.postedEvents, 3);
  });
});
