import * as assert from 'assert';
import { TraceEvent, toChrome, readChromeText, linkGroup } from '../../../protocol';
import { linkPair } from '../../../webview/model/arrows';
import { TimelineModel, layout, summarize, visibleSpans, visiblePoints, visibleArrows, SortedSpans, DENSITY_BUCKET_US, gallop, lowerBound } from '../../../webview/model';

const P = 100;
const ev = (e: Partial<TraceEvent> & Pick<TraceEvent, 'k' | 'ph' | 'ts'>): TraceEvent => ({ pid: P, tid: P, ...e });

describe('webview model: lanes', () => {
  it('builds a process tree with thread, task and pool-worker lanes named as the program named them', () => {
    const m = new TimelineModel();
    m.append([
      ev({ k: 'process.start', ph: 'i', ts: 0, a: { ppid: 1, name: 'main.py', method: 'main' } }),
      ev({ k: 'thread.run', ph: 'b', ts: 1, tid: 101, a: { name: 'teller-1', daemon: false, kind: 'thread' } }),
      ev({ k: 'pool.create', ph: 'i', ts: 2, obj: 900, a: { type: 'ThreadPoolExecutor', workers: 2 } }),
      ev({ k: 'pool.task', ph: 'X', ts: 3, dur: 5, tid: 102, obj: 900, corr: 5 }),
      ev({ k: 'async.task', ph: 'b', ts: 4, obj: 700, a: { name: 'fetch', coro: 'fetch()' } }),
      ev({ k: 'process.spawn', ph: 'i', ts: 5, a: { child: 200, method: 'fork' } }),
      { k: 'process.start', ph: 'i', ts: 6, pid: 200, tid: 200, a: { ppid: P, name: 'Process-1', method: 'fork' } },
      { k: 'process.exit', ph: 'i', ts: 9, pid: 200, tid: 200, a: { code: -9 } },
      { k: 'process.exit', ph: 'i', ts: 9, pid: 200, tid: 200, a: { code: -9, signal: 'SIGKILL', killed: true } },
      { k: 'process.exit', ph: 'i', ts: 9, pid: 200, tid: 200, a: { code: -9 } },
    ]);
    const rows = layout(m).rows.map((r) => `${'  '.repeat(r.indent)}${r.type}:${r.label}`);
    assert.deepStrictEqual(rows, [
      'process:main.py',
      '  lane:MainThread',
      '    lane:fetch',
      '  lane:teller-1',
      '  pool:ThreadPoolExecutor #900',
      '    lane:thread 102',
      '  process:Process-1',
      '    lane:MainThread',
    ]);
    const child = m.processes.get(200)!;
    assert.strictEqual(child.ppid, P);
    // the duplicate exit record that says nothing about the signal does not overwrite the one that does
    assert.deepStrictEqual(child.exit, { code: -9, signal: 'SIGKILL', killed: true });
    assert.match(layout(m).rows[6].detail, /killed by SIGKILL/);
  });

  it('renames a lane from thread.name and groups process-pool workers under their pool', () => {
    const m = new TimelineModel();
    m.append([
      ev({ k: 'pool.create', ph: 'i', ts: 0, obj: 5, a: { type: 'mp.Pool', workers: 2 } }),
      { k: 'process.start', ph: 'i', ts: 1, pid: 301, tid: 301, a: { ppid: P, name: 'ForkPoolWorker-1', method: 'fork' } },
      { k: 'pool.task', ph: 'X', ts: 2, dur: 1, pid: 301, tid: 301, obj: 5 },
      { k: 'process.start', ph: 'i', ts: 1, pid: 302, tid: 302, a: { ppid: P, name: 'ForkPoolWorker-2', method: 'fork' } },
      { k: 'thread.name', ph: 'i', ts: 3, pid: 302, tid: 302, a: { name: 'renamed' } },
    ]);
    m.append([{ k: 'pool.task', ph: 'X', ts: 2, dur: 1, pid: 302, tid: 302, obj: 5 }]);
    const rows = layout(m).rows.map((r) => `${'  '.repeat(r.indent)}${r.type}:${r.label}`);
    assert.deepStrictEqual(rows, [
      // the parent only created the pool: it gets a process header but no empty thread lane
      'process:pid 100',
      '  pool:mp.Pool #5',
      '    process:ForkPoolWorker-1',
      '      lane:MainThread',
      '    process:ForkPoolWorker-2',
      '      lane:renamed',
    ]);
  });

  it('hides filtered lanes and processes from the layout', () => {
    const m = new TimelineModel();
    m.append([ev({ k: 'thread.sleep', ph: 'X', ts: 0, dur: 3 }), ev({ k: 'thread.sleep', ph: 'X', ts: 0, dur: 3, tid: 7 })]);
    assert.strictEqual(layout(m, { hidden: new Set([`${P}/7`]) }).rows.length, 2);
    assert.strictEqual(layout(m, { hidden: new Set([`p:${P}`]) }).rows.length, 0);
  });
});

describe('webview model: intervals', () => {
  it('pairs b/e per (pid, tid, kind, obj) as a stack, nests rows, and keeps X whole', () => {
    const m = new TimelineModel();
    m.append([
      ev({ k: 'lock.hold', ph: 'b', ts: 10, obj: 1 }),
      ev({ k: 'lock.wait', ph: 'b', ts: 12, obj: 2 }),
      ev({ k: 'lock.wait', ph: 'e', ts: 15, obj: 2, a: { ok: true } }),
      ev({ k: 'lock.hold', ph: 'b', ts: 15, obj: 2 }),
      ev({ k: 'lock.hold', ph: 'e', ts: 18, obj: 2 }),
      ev({ k: 'lock.hold', ph: 'e', ts: 20, obj: 1 }),
      ev({ k: 'thread.sleep', ph: 'X', ts: 30, dur: 5 }),
    ]);
    const lane = m.lane(`${P}/${P}`)!;
    const row = (d: number) => lane.rows[d].items.map((iv) => [iv.k, iv.obj ?? null, iv.start, iv.end]);
    assert.deepStrictEqual(row(0), [['lock.hold', 1, 10, 20], ['thread.sleep', null, 30, 35]]);
    assert.deepStrictEqual(row(1), [['lock.wait', 2, 12, 15], ['lock.hold', 2, 15, 18]]);
    assert.strictEqual(lane.rows[1].items[0].state, 'wait');
    assert.strictEqual(lane.rows[1].items[1].state, 'hold');
    assert.deepStrictEqual(lane.rows[1].items[0].close?.a, { ok: true });
    assert.strictEqual(m.intervalCount, 4);
  });

  it('keeps an interval open (to "now") until its end arrives in a later batch, then closes it', () => {
    const m = new TimelineModel();
    m.append([ev({ k: 'msg.wait', ph: 'b', ts: 5, obj: 3 }), ev({ k: 'msg.send', ph: 'i', ts: 40, tid: 9, obj: 3 })]);
    const iv = m.lane(`${P}/${P}`)!.rows[0].items[0];
    assert.strictEqual(iv.end, Infinity);
    const drawn = visibleSpans(m.lane(`${P}/${P}`)!.rows[0], 0, 100, 0, m.now);
    assert.deepStrictEqual(drawn.map((d) => [d.start, d.end]), [[5, 40]]);
    m.append([ev({ k: 'msg.wait', ph: 'e', ts: 41, obj: 3 })]);
    assert.strictEqual(iv.end, 41);
    assert.strictEqual(m.lane(`${P}/${P}`)!.rows[0].maxEnd[0], 41);
  });

  it('counts an end without a beginning instead of inventing an interval', () => {
    const m = new TimelineModel();
    m.append([ev({ k: 'lock.hold', ph: 'e', ts: 5, obj: 1 })]);
    assert.strictEqual(m.unmatched, 1);
    assert.strictEqual(m.intervalCount, 0);
  });

  it('takes batches out of time order across processes without rebuilding', () => {
    const m = new TimelineModel();
    m.append([{ k: 'thread.sleep', ph: 'X', ts: 50, dur: 10, pid: 2, tid: 2 }]);
    m.append([{ k: 'thread.sleep', ph: 'X', ts: 10, dur: 10, pid: 2, tid: 2 }, { k: 'thread.sleep', ph: 'X', ts: 5, dur: 1, pid: 3, tid: 3 }]);
    const row = m.lane('2/2')!.rows[0];
    assert.deepStrictEqual(row.starts, [10, 50]);
    assert.deepStrictEqual(row.maxEnd, [20, 60]);
    assert.strictEqual(m.minTs, 5);
    assert.strictEqual(m.maxTs, 60);
  });

  it('puts asyncio steps on the task lane inside their thread', () => {
    const m = new TimelineModel();
    m.append([
      ev({ k: 'async.task', ph: 'b', ts: 1, obj: 77, a: { name: 'worker-a', coro: 'work()' } }),
      ev({ k: 'async.step', ph: 'X', ts: 2, dur: 3, obj: 77 }),
      ev({ k: 'async.wait', ph: 'X', ts: 5, dur: 3, obj: 77, a: { what: 'sleep' } }),
      ev({ k: 'async.task', ph: 'e', ts: 9, obj: 77, a: { state: 'done' } }),
    ]);
    const lane = m.lane(`${P}/${P}/77`)!;
    assert.strictEqual(lane.kind, 'task');
    assert.strictEqual(lane.name, 'worker-a');
    assert.strictEqual(lane.parentKey, `${P}/${P}`);
    assert.deepStrictEqual(lane.rows[0].items.map((i) => i.state), ['running', 'blocked']);
    assert.deepStrictEqual([lane.lifetimes.starts[0], lane.lifetimes.ends[0]], [1, 9]);
  });

  it('draws a task start that carries its creation (a.spawnTs) as a spawn on the creator lane with an arrow', () => {
    const m = new TimelineModel();
    m.append([
      ev({ k: 'async.task', ph: 'b', ts: 1, obj: 70, corr: 70, loc: '/app/main.py:30', a: { name: 'main', coro: 'main', spawnTs: 0 } }),
      ev({ k: 'async.task', ph: 'b', ts: 5, obj: 71, corr: 71, loc: '/app/main.py:12', a: { name: 'producer', coro: 'producer', parent: 70, spawnTs: 2 } }),
      ev({ k: 'async.task', ph: 'e', ts: 8, obj: 71, a: { state: 'done', steps: 4 } }),
    ]);
    const lane = (obj?: number) => m.lane(obj === undefined ? `${P}/${P}` : `${P}/${P}/${obj}`)!;
    const spawnsOn = (obj?: number) => lane(obj).instants.items.map((i) => `${i.ev.k}:${i.ev.obj}@${i.ev.ts} ${i.ev.loc}`);
    assert.deepStrictEqual(spawnsOn(70), ['async.spawn:71@2 /app/main.py:12'], 'main created the producer at ts 2');
    assert.deepStrictEqual(spawnsOn(), ['async.spawn:70@0 /app/main.py:30'], 'made outside any task: the thread lane');
    assert.strictEqual(lane(71).name, 'producer');
    assert.deepStrictEqual([lane(71).lifetimes.starts[0], lane(71).lifetimes.ends[0]], [5, 8], 'the lane starts at the first step');
    const arrows = m.arrows.spans.items.filter((a) => a.alive).map((a) => `${a.kind} ${a.fromLane} -> ${a.toLane}`);
    assert.deepStrictEqual(arrows.sort(), [`spawn ${P}/${P} -> ${P}/${P}/70`, `spawn ${P}/${P}/70 -> ${P}/${P}/71`]);
  });

  it('leaves a task start without a.spawnTs (a task first met running) without a spawn', () => {
    const m = new TimelineModel();
    m.append([ev({ k: 'async.task', ph: 'b', ts: 1, obj: 77, corr: 77, a: { name: 'w', coro: 'w' } })]);
    assert.strictEqual(m.lane(`${P}/${P}`)?.instants.length ?? 0, 0);
    assert.strictEqual(m.arrows.spans.items.length, 0);
  });

  it('draws queue messages on the lanes of the tasks that sent and received them, with an arrow between', () => {
    const m = new TimelineModel();
    m.append([
      ev({ k: 'async.task', ph: 'b', ts: 1, obj: 70, a: { name: 'main', coro: 'main' } }),
      ev({ k: 'async.spawn', ph: 'i', ts: 2, obj: 71, corr: 90, a: { name: 'producer', task: 70 } }),
      ev({ k: 'async.spawn', ph: 'i', ts: 2, obj: 72, corr: 91, a: { name: 'consumer' } }),
      ev({ k: 'async.task', ph: 'b', ts: 3, obj: 71, corr: 90, a: { name: 'producer', coro: 'producer' } }),
      ev({ k: 'async.task', ph: 'b', ts: 3, obj: 72, corr: 91, a: { name: 'consumer', coro: 'consumer' } }),
      ev({ k: 'msg.send', ph: 'i', ts: 4, obj: 9, corr: 92, a: { preview: '0', size: 28, task: 71 } }),
      ev({ k: 'msg.recv', ph: 'i', ts: 5, obj: 9, corr: 92, a: { size: 28, task: 72 } }),
      ev({ k: 'msg.send', ph: 'i', ts: 6, obj: 9, corr: 93, a: { preview: '1', size: 28 } }),   // sync code: the thread's
    ]);
    const lane = (obj?: number) => m.lane(obj === undefined ? `${P}/${P}` : `${P}/${P}/${obj}`)!;
    assert.deepStrictEqual(lane(71).instants.items.map((i) => i.ev.k), ['msg.send']);
    assert.deepStrictEqual(lane(72).instants.items.map((i) => i.ev.k), ['msg.recv']);
    assert.deepStrictEqual(lane(70).instants.items.map((i) => i.ev.k), ['async.spawn'], 'main spawned the producer');
    assert.deepStrictEqual(lane().instants.items.map((i) => `${i.ev.k}:${i.ev.obj}`), ['async.spawn:72', 'msg.send:9']);
    assert.strictEqual(lane(71).kind, 'task');
    assert.strictEqual(lane(71).name, 'producer');
    assert.strictEqual(m.lanes.size, 4, 'no lane for the queue itself');
    const arrows = m.arrows.spans.items.filter((a) => a.alive).map((a) => `${a.kind} ${a.fromLane} -> ${a.toLane}`);
    assert.deepStrictEqual(arrows.sort(), [
      `message ${P}/${P}/71 -> ${P}/${P}/72`,
      `spawn ${P}/${P} -> ${P}/${P}/72`,
      `spawn ${P}/${P}/70 -> ${P}/${P}/71`,
    ]);
    const rows = layout(m).rows.map((r) => `${r.type}:${r.label}`);
    assert.deepStrictEqual(rows.slice(1), ['lane:MainThread', 'lane:main', 'lane:producer', 'lane:consumer']);
  });
});

describe('webview model: arrows and markers', () => {
  it('pairs messages across processes even when the receive arrives first', () => {
    const m = new TimelineModel();
    m.append([{ k: 'msg.recv', ph: 'i', ts: 20, pid: 2, tid: 2, obj: 9, corr: 44 }]);
    assert.strictEqual(m.arrows.alive, 0);
    m.append([{ k: 'msg.send', ph: 'i', ts: 10, pid: 1, tid: 1, obj: 9, corr: 44, a: { preview: "'x'", size: 3 } }]);
    assert.strictEqual(m.arrows.alive, 1);
    const [a] = m.arrows.spans.items;
    assert.deepStrictEqual([a.kind, a.fromLane, a.toLane], ['message', '1/1', '2/2']);
  });

  it('fans a notify out to every woken waiter and links spawn → run and run end → join', () => {
    const m = new TimelineModel();
    m.append([
      ev({ k: 'thread.spawn', ph: 'i', ts: 1, corr: 1, a: { name: 't' } }),
      ev({ k: 'thread.run', ph: 'b', ts: 2, tid: 5, corr: 1, a: { name: 't' } }),
      ev({ k: 'sync.wait', ph: 'b', ts: 3, tid: 5, obj: 8 }),
      ev({ k: 'sync.wait', ph: 'b', ts: 3, tid: 6, obj: 8 }),
      ev({ k: 'sync.notify', ph: 'i', ts: 4, corr: 2, obj: 8, a: { what: 'condition', n: 2 } }),
      ev({ k: 'sync.wait', ph: 'e', ts: 5, tid: 5, obj: 8, corr: 2 }),
      ev({ k: 'sync.wait', ph: 'e', ts: 5, tid: 6, obj: 8, corr: 2 }),
      ev({ k: 'thread.run', ph: 'e', ts: 7, tid: 5, corr: 3 }),
      ev({ k: 'thread.join', ph: 'b', ts: 6, obj: undefined }),
      ev({ k: 'thread.join', ph: 'e', ts: 8, corr: 3 }),
    ]);
    const kinds = m.arrows.spans.items.filter((a) => a.alive).map((a) => `${a.kind}:${a.fromLane}->${a.toLane}`).sort();
    assert.deepStrictEqual(kinds, [`join:${P}/5->${P}/${P}`, `spawn:${P}/${P}->${P}/5`, `wake:${P}/${P}->${P}/5`, `wake:${P}/${P}->${P}/6`]);
  });

  it('draws a wake arrow from the release that let a waiter in to the end of its lock wait (b/e or one X)', () => {
    const m = new TimelineModel();
    m.append([
      ev({ k: 'lock.wait', ph: 'b', ts: 10, tid: 5, obj: 8, a: { holder: 6 } }),
      ev({ k: 'lock.release', ph: 'i', ts: 30, tid: 6, obj: 8, corr: 4 }),
      ev({ k: 'lock.wait', ph: 'e', ts: 32, tid: 5, obj: 8, corr: 4, a: { ok: true } }),
      // a short wait is recorded whole, when it ends: its corr belongs to its end
      ev({ k: 'lock.release', ph: 'i', ts: 50, tid: 5, obj: 8, corr: 9 }),
      ev({ k: 'lock.wait', ph: 'X', ts: 40, dur: 11, tid: 6, obj: 8, corr: 9, a: { ok: true } }),
    ]);
    const arrows = m.arrows.spans.items.filter((a) => a.alive)
      .map((a) => `${a.kind}:${a.fromLane}@${a.from.ts}->${a.toLane}@${a.to.ts}`).sort();
    assert.deepStrictEqual(arrows, [`wake:${P}/5@50->${P}/6@51`, `wake:${P}/6@30->${P}/5@32`]);
  });

  it('links a pool task recorded as one X (as the runtime records a short task) from its submit and to its result', () => {
    const m = new TimelineModel();
    m.append([
      ev({ k: 'pool.create', ph: 'i', ts: 0, obj: 900, a: { type: 'ThreadPoolExecutor', workers: 2 } }),
      ev({ k: 'pool.submit', ph: 'i', ts: 1, obj: 900, corr: 7, a: { fn: 'work', method: 'submit' } }),
      ev({ k: 'pool.result', ph: 'i', ts: 9, obj: 900, corr: 7, a: { ok: true } }),
    ]);
    // the worker's event arrives last (recorded when the task ended), in a later batch
    m.append([ev({ k: 'pool.task', ph: 'X', ts: 3, dur: 4, tid: 102, obj: 900, corr: 7, a: { fn: 'work', ok: true } })]);
    const arrows = m.arrows.spans.items.filter((a) => a.alive)
      .map((a) => `${a.fromLane}@${a.from.ts}->${a.toLane}@${a.to.ts}`).sort();
    assert.deepStrictEqual(arrows, [`${P}/${P}@1->${P}/102@3`, `${P}/102@7->${P}/${P}@9`]);
    assert.strictEqual(m.lane(`${P}/102`)!.pool, 900);
  });

  it('links processes deadlocked on each other\'s locks across their separate reports', () => {
    const m = new TimelineModel();
    // two processes, each reporting its own blocked main thread (each watches only its own threads)
    m.append([{ k: 'deadlock', ph: 'i', ts: 50, pid: 7, tid: 7, a: { reason: 'all-blocked', threads: [
      { pid: 7, tid: 7, name: 'MainThread', waitingFor: 11, holding: [10], stack: [] }] } }]);
    assert.strictEqual(m.arrows.spans.items.length, 0, 'the holder of 11 is not known yet');
    m.append([{ k: 'deadlock', ph: 'i', ts: 60, pid: 8, tid: 8, a: { reason: 'all-blocked', threads: [
      { pid: 8, tid: 8, name: 'MainThread', waitingFor: 10, holding: [11], stack: [] }] } }]);
    const d = m.arrows.spans.items.map((a) => `${a.kind}:${a.fromLane}->${a.toLane}@${a.from.ts}`).sort();
    assert.deepStrictEqual(d, ['deadlock:7/7->8/8@60', 'deadlock:8/8->7/7@60']);
    assert.strictEqual(m.markers.length, 2);
    // a repeated report adds no second arrow
    m.append([{ k: 'deadlock', ph: 'i', ts: 70, pid: 8, tid: 8, a: { reason: 'all-blocked', threads: [
      { pid: 8, tid: 8, name: 'MainThread', waitingFor: 10, holding: [11], stack: [] }] } }]);
    assert.strictEqual(m.arrows.spans.items.length, 2);
  });

  it('links a thread waiting for a process to the threads listed for that process (a child on a pipe, a join)', () => {
    const m = new TimelineModel();
    // The program's main thread waits for its child 9; the child (listed by the same report) waits for 7.
    m.append([{ k: 'deadlock', ph: 'i', ts: 50, pid: 7, tid: 70, a: { reason: 'all-blocked', threads: [
      { pid: 7, tid: 70, name: 'MainThread', waitType: 'subprocess', waitingForProcess: 9, holding: [], stack: [] },
      { pid: 9, tid: 9, name: 'cat', waitType: 'pipe read (stdin)', waitingForProcess: 7, holding: [], stack: [] }] } }]);
    const d = m.arrows.spans.items.map((a) => `${a.kind}:${a.fromLane}->${a.toLane}`).sort();
    assert.deepStrictEqual(d, ['deadlock:7/70->9/9', 'deadlock:9/9->7/70']);
    // A process waited for that no report lists (it has ended): no arrow.
    m.append([{ k: 'deadlock', ph: 'i', ts: 60, pid: 5, tid: 5, a: { reason: 'all-blocked', threads: [
      { pid: 5, tid: 5, name: 'MainThread', waitType: 'Process.join', waitingForProcess: 6, holding: [], stack: [] }] } }]);
    assert.strictEqual(m.arrows.spans.items.length, 2);
  });

  it('marks a deadlock with its cycle lanes, stacks, and red arrows waiter → holder', () => {
    const m = new TimelineModel();
    m.append([ev({ k: 'deadlock', ph: 'i', ts: 50, a: { reason: 'cycle', threads: [
      { pid: P, tid: 1, name: 'A', waitingFor: 11, holding: [10], stack: ['/x.py:3 in a'] },
      { pid: P, tid: 2, name: 'B', waitingFor: 10, holding: [11], stack: ['/x.py:9 in b'] },
    ] } })]);
    assert.strictEqual(m.markers.length, 1);
    assert.strictEqual(m.markers[0].message, 'Deadlock: threads wait for each other in a cycle');
    assert.deepStrictEqual(m.markers[0].lanes, [`${P}/1`, `${P}/2`]);
    assert.strictEqual(m.lane(`${P}/1`)!.name, 'A');
    const d = m.arrows.spans.items.map((a) => `${a.kind}:${a.fromLane}->${a.toLane}`).sort();
    assert.deepStrictEqual(d, [`deadlock:${P}/1->${P}/2`, `deadlock:${P}/2->${P}/1`]);
  });

  it('says a deadlock of the whole run is one, for each process\'s report of it', () => {
    const m = new TimelineModel();
    m.append([{ k: 'deadlock', ph: 'i', ts: 50, pid: 7, tid: 7, a: { reason: 'all-blocked', scope: 'run', processes: [7, 8], threads: [
      { pid: 7, tid: 7, name: 'MainThread', holding: [], stack: [] }] } }]);
    m.append([{ k: 'deadlock', ph: 'i', ts: 55, pid: 9, tid: 9, a: { reason: 'all-blocked', threads: [
      { pid: 9, tid: 9, name: 'MainThread', holding: [], stack: [] }] } }]);
    assert.deepStrictEqual(m.markers.map((x) => x.message),
      ['Deadlock: every thread of every process is blocked', 'Deadlock: every thread is blocked']);
  });

  it('records exceptions and lock inversions as markers with readable messages', () => {
    const m = new TimelineModel();
    m.append([
      ev({ k: 'lock.create', ph: 'i', ts: 0, obj: 1, a: { type: 'Lock', name: 'accounts' } }),
      ev({ k: 'exception', ph: 'i', ts: 3, a: { type: 'ValueError', message: 'bad' } }),
      ev({ k: 'lock.inversion', ph: 'i', ts: 4, a: { locks: [1, 2], first: [], second: [] } }),
    ]);
    assert.deepStrictEqual(m.markers.map((x) => x.message), ['ValueError: bad', 'Lock-order inversion: accounts and #2 taken in opposite orders']);
  });
});

describe('webview model: aggregation and the event budget', () => {
  it('draws runtime aggregates as counted bars and counts them in the lock summary', () => {
    const m = new TimelineModel();
    m.append([
      ev({ k: 'lock.create', ph: 'i', ts: 0, obj: 1, a: { type: 'Lock', name: 'L' } }),
      ev({ k: 'aggregate', ph: 'X', ts: 0, dur: 100, obj: 1, a: { what: 'lock', count: 40, holdUs: 80 } }),
      ev({ k: 'lock.wait', ph: 'X', ts: 100, dur: 30, obj: 1 }),
      ev({ k: 'lock.hold', ph: 'X', ts: 130, dur: 10, obj: 1 }),
    ]);
    const lane = m.lane(`${P}/${P}`)!;
    assert.strictEqual(lane.aggregates.items[0].count, 40);
    const s = summarize(m).locks[0];
    assert.deepStrictEqual([s.name, s.acquisitions, s.contended, s.totalWaitUs, s.maxWaitUs, s.totalHoldUs, s.owners], ['L', 41, 1, 30, 30, 90, ['MainThread']]);
    assert.strictEqual(Math.round(s.contentionPct * 100) / 100, Math.round((100 / 41) * 100) / 100);
  });

  it('counts hand-offs per lock and their median wake-up, leaving untimed releases out of the median', () => {
    const m = new TimelineModel();
    m.append([
      ev({ k: 'lock.create', ph: 'i', ts: 0, obj: 1, a: { type: 'Lock', name: 'L' } }),
      ev({ k: 'lock.wait', ph: 'X', ts: 10, dur: 30, tid: 2, obj: 1, corr: 5 }),
      ev({ k: 'lock.release', ph: 'i', ts: 36, tid: 3, obj: 1, corr: 5 }),          // woke it 4 µs later
      ev({ k: 'lock.wait', ph: 'X', ts: 50, dur: 40, tid: 3, obj: 1, corr: 6 }),
      ev({ k: 'lock.release', ph: 'i', ts: 80, tid: 2, obj: 1, corr: 6 }),          // 10 µs
      ev({ k: 'lock.wait', ph: 'X', ts: 100, dur: 20, tid: 2, obj: 1, corr: 7 }),
      ev({ k: 'lock.release', ph: 'i', ts: 120, tid: 3, obj: 1, corr: 7, a: { approx: true } }),
    ]);
    const s = summarize(m).locks[0];
    assert.deepStrictEqual([s.handoffs, s.medianHandoffUs, s.contended], [3, 7, 3]);
    const none = new TimelineModel();
    none.append([ev({ k: 'lock.wait', ph: 'X', ts: 10, dur: 30, tid: 2, obj: 1 })]);
    assert.deepStrictEqual([summarize(none).locks[0].handoffs, summarize(none).locks[0].medianHandoffUs], [0, undefined]);
  });

  it('past the event limit folds detail into density buckets and keeps lifecycle events', () => {
    const m = new TimelineModel(10);
    const events: TraceEvent[] = [];
    for (let i = 0; i < 30; i++) events.push(ev({ k: 'lock.hold', ph: 'X', ts: i * 1000, dur: 500, obj: 1 }));
    events.push(ev({ k: 'thread.run', ph: 'b', ts: 0, tid: 3, a: { name: 'late' } }));
    events.push(ev({ k: 'exception', ph: 'i', ts: 29_000, a: { type: 'E' } }));
    m.append(events);
    // the budget counts every kept event: the first hold, the thread lifetime (same ts, sorted after
    // the longer slice), 8 more holds; then 21 holds are folded; the exception is still kept
    assert.strictEqual(m.stored, 11);
    assert.strictEqual(m.folded, 21);
    assert.strictEqual(m.lane(`${P}/${P}`)!.rows[0].length, 9);
    assert.ok(m.bounded);
    const agg = m.lane(`${P}/${P}`)!.aggregates.items;
    assert.strictEqual(agg.reduce((n, a) => n + (a.count ?? 0), 0), 21);
    assert.ok(agg.every((a) => a.end - a.start === DENSITY_BUCKET_US));
    assert.strictEqual(m.markers.length, 1);
    assert.strictEqual(m.lane(`${P}/3`)!.name, 'late');
  });
});

describe('webview model: culling', () => {
  const spans = () => {
    const s = new SortedSpans<number>();
    for (let i = 0; i < 1000; i++) s.add(i * 10, i * 10 + 5, i);
    return s;
  };

  it('returns exactly the spans overlapping the window', () => {
    const s = spans();
    assert.deepStrictEqual(s.overlapping(94, 121), [9, 10, 11, 12]);
    assert.deepStrictEqual(s.overlapping(96, 119), [10, 11]);
    assert.deepStrictEqual(visibleSpans(s, 94, 121, 0, 1e9).map((d) => d.item), [9, 10, 11, 12]);
  });

  it('merges a crowded run of sub-pixel spans into one block that says how many it stands for', () => {
    const s = spans();
    const blocks = visibleSpans(s, 0, 10_000, 100, 1e9);
    assert.deepStrictEqual(blocks.map((b) => [b.start, b.end, b.merged, b.item, b.last]), [[0, 10_000, 1000, 0, 999]]);
  });

  it('starts a new block after a gap wider than a pixel', () => {
    const s = new SortedSpans<number>();
    for (let i = 0; i < 100; i++) s.add(i * 10, i * 10 + 5, i);
    for (let i = 500; i < 600; i++) s.add(i * 10, i * 10 + 5, i);
    const blocks = visibleSpans(s, 0, 10_000, 100, 1e9);
    assert.deepStrictEqual(blocks.map((b) => [b.start, b.end, b.merged]), [[0, 1000, 100], [5000, 6000, 100]]);
  });

  it('keeps a wide span after a run of narrow ones as its own block', () => {
    const s = new SortedSpans<string>();
    s.add(0, 1, 'a'); s.add(2, 3, 'b'); s.add(4, 500, 'wide');
    const blocks = visibleSpans(s, 0, 1000, 10, 1e9);
    assert.deepStrictEqual(blocks.map((b) => [b.item, b.merged]), [['a', 2], ['wide', 1]]);
  });

  it('finds a long span that started before the window through the prefix maximum', () => {
    const s = new SortedSpans<string>();
    s.add(0, 10_000, 'long');
    for (let i = 1; i < 100; i++) s.add(i * 10, i * 10 + 1, `s${i}`);
    assert.deepStrictEqual(s.overlapping(5000, 5001), ['long']);
    // late insertion repairs the prefix maximum
    s.add(-5, 20_000, 'earlier');
    assert.deepStrictEqual(s.overlapping(15_000, 16_000), ['earlier']);
  });

  it('filters points by pixel and hidden kinds, and arrows by lane and window', () => {
    const m = new TimelineModel();
    const events: TraceEvent[] = [];
    for (let i = 0; i < 100; i++) {
      events.push({ k: 'msg.send', ph: 'i', ts: i * 10, pid: 1, tid: 1, obj: 1, corr: i + 1 });
      events.push({ k: 'msg.recv', ph: 'i', ts: i * 10 + 5, pid: 2, tid: 2, obj: 1, corr: i + 1 });
    }
    m.append(events);
    const inst = m.lane('1/1')!.instants;
    assert.strictEqual(visiblePoints(inst, 0, 1000, 0).length, 100);
    assert.strictEqual(visiblePoints(inst, 0, 1000, 100).length, 10);
    assert.strictEqual(visiblePoints(inst, 0, 1000, 0, () => false).length, 0);
    assert.strictEqual(visibleArrows(m.arrows, 100, 200, () => true).length, 11);
    assert.strictEqual(visibleArrows(m.arrows, 100, 200, (k) => k !== '2/2').length, 0);
    // sampled evenly when far more are in view than can be drawn
    const sample = visibleArrows(m.arrows, 0, 1000, () => true, undefined, 5);
    assert.strictEqual(sample.length, 20);
    assert.ok(sample[0].from.ts < 50 && sample[19].from.ts > 900, 'spread over the whole window');
  });

  it('gallops to the same index as a binary search', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const a: number[] = [];
    for (let i = 0, t = 0; i < 500; i++) a.push((t += Math.floor(rand() * 5)));
    for (let n = 0; n < 2000; n++) {
      const lo = Math.floor(rand() * a.length), hi = lo + Math.floor(rand() * (a.length - lo + 1));
      const x = rand() * 1100;
      assert.strictEqual(gallop(a, x, lo, hi), lowerBound(a, x, lo, hi), `x=${x} lo=${lo} hi=${hi}`);
    }
  });

  it('stays fast on 1M spans: a window query touches a handful of entries', () => {
    const s = new SortedSpans<number>();
    for (let i = 0; i < 1_000_000; i++) s.add(i, i + 0.5, i);
    const [lo, hi] = s.range(500_000, 500_010);
    assert.ok(hi - lo <= 12, `range ${lo}..${hi}`);
    const blocks = visibleSpans(s, 0, 1_000_000, 1000, 1e9);
    assert.deepStrictEqual([blocks.length, blocks[0].merged], [1, 1_000_000]);
  });
});

describe('webview model: summary', () => {
  it('adds up per-thread blocked time, parallelism and messages per channel', () => {
    const m = new TimelineModel();
    m.append([
      ev({ k: 'chan.create', ph: 'i', ts: 0, obj: 4, a: { type: 'queue.Queue', name: 'jobs' } }),
      ev({ k: 'thread.run', ph: 'b', ts: 0, tid: 1, a: { name: 'a' } }),
      ev({ k: 'thread.run', ph: 'e', ts: 100, tid: 1 }),
      ev({ k: 'thread.run', ph: 'b', ts: 0, tid: 2, a: { name: 'b' } }),
      ev({ k: 'thread.run', ph: 'e', ts: 100, tid: 2 }),
      ev({ k: 'msg.wait', ph: 'X', ts: 0, dur: 60, tid: 2, obj: 4 }),
      ev({ k: 'msg.send', ph: 'i', ts: 59, tid: 1, obj: 4, corr: 1, a: { preview: '1', size: 28 } }),
      ev({ k: 'msg.recv', ph: 'i', ts: 60, tid: 2, obj: 4, corr: 1 }),
      { k: 'cpu.thread', ph: 'C', ts: 10, pid: P, tid: 1, a: { pct: 50 } },
      { k: 'cpu.thread', ph: 'C', ts: 20, pid: P, tid: 1, a: { pct: 100 } },
    ]);
    const s = summarize(m);
    const b = s.threads.find((t) => t.name === 'b')!;
    assert.deepStrictEqual([b.lifetimeUs, b.blockedUs], [100, 60]);
    assert.strictEqual(s.threads.find((t) => t.name === 'a')!.cpuPct, 75);
    assert.strictEqual(s.wallUs, 100);
    assert.strictEqual(Math.round(s.parallelism * 100) / 100, 1.4); // (100 + 40) / 100
    assert.deepStrictEqual(s.channels.map((c) => [c.name, c.sent, c.received, c.bytes]), [['jobs', 1, 1, 28]]);
  });
});

describe('webview model: Chrome traces', () => {
  it('reads our saved format back into the same lanes, intervals and arrows', () => {
    const events: TraceEvent[] = [
      ev({ k: 'thread.run', ph: 'b', ts: 0, tid: 1, a: { name: 'worker' } }),
      ev({ k: 'lock.wait', ph: 'b', ts: 2, tid: 1, obj: 3 }),
      ev({ k: 'lock.wait', ph: 'e', ts: 4, tid: 1, obj: 3 }),
      ev({ k: 'msg.send', ph: 'i', ts: 5, tid: 1, obj: 9, corr: 1 }),
      ev({ k: 'msg.recv', ph: 'i', ts: 6, obj: 9, corr: 1 }),
      ev({ k: 'thread.run', ph: 'e', ts: 10, tid: 1 }),
    ];
    const direct = new TimelineModel();
    direct.append(events);
    const viaFile = new TimelineModel();
    viaFile.append(readChromeText(JSON.stringify(toChrome(events))).events);
    for (const m of [direct, viaFile]) {
      assert.deepStrictEqual([m.lanes.size, m.intervalCount, m.arrows.alive], [2, 1, 1]);
      assert.strictEqual(m.lane(`${P}/1`)!.name, 'worker');
    }
  });

  it('shows other tools\' slices, counters and flows as generic lanes', () => {
    const text = JSON.stringify({ traceEvents: [
      { name: 'thread_name', ph: 'M', pid: 1, tid: 2, args: { name: 'render' } },
      { name: 'draw', cat: 'gfx', ph: 'X', ts: 10, dur: 5, pid: 1, tid: 2 },
      { name: 'parse', ph: 'B', ts: 20, pid: 1, tid: 2 },
      { name: 'parse', ph: 'E', ts: 30, pid: 1, tid: 2 },
      { name: 'mem', ph: 'C', ts: 12, pid: 1, tid: 2, args: { heap: 5 } },
      { name: 'f', ph: 's', id: 'x1', ts: 11, pid: 1, tid: 2 },
      { name: 'f', ph: 'f', id: 'x1', ts: 25, pid: 1, tid: 3 },
    ] });
    const m = new TimelineModel();
    m.append(readChromeText(text).events);
    const lane = m.lane('1/2')!;
    assert.strictEqual(lane.name, 'render');
    assert.deepStrictEqual(lane.rows[0].items.map((i) => [i.state, i.start, i.end]), [['generic', 10, 15], ['generic', 20, 30]]);
    assert.deepStrictEqual([...lane.counters.keys()], ['mem.heap']);
    assert.strictEqual(m.arrows.alive, 1);
  });
});

describe('webview model: two-event links', () => {
  it('pairs like protocol linkGroup for every pair of roles, orders and lanes', () => {
    const shapes: Partial<TraceEvent>[] = [
      { k: 'msg.send', ph: 'i' }, { k: 'msg.recv', ph: 'i' }, { k: 'sync.notify', ph: 'i' }, { k: 'sync.wait', ph: 'e' },
      { k: 'thread.run', ph: 'b' }, { k: 'thread.run', ph: 'e' }, { k: 'generic.flow', ph: 'i', a: { dir: 'step' } },
    ];
    let n = 0;
    for (const x of shapes) for (const y of shapes) for (const [tx, ty] of [[1, 2], [2, 1], [3, 3]]) for (const sameLane of [false, true]) {
      const a = { ...x, ts: tx, pid: 1, tid: 1, corr: 9 } as TraceEvent;
      const b = { ...y, ts: ty, pid: 1, tid: sameLane ? 1 : 2, corr: 9 } as TraceEvent;
      const key = (ls: { from: TraceEvent; to: TraceEvent }[]) => ls.map((l) => [l.from === a ? 'a' : 'b', l.to === a ? 'a' : 'b']);
      assert.deepStrictEqual(key(linkPair(a, b)), key(linkGroup([a, b])), `${x.k}/${x.ph}@${tx} ${y.k}/${y.ph}@${ty} same=${sameLane}`);
      n++;
    }
    assert.strictEqual(n, 294);
  });
});
