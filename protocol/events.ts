/**
 * The one definition of Interleave's trace events.
 *
 * Every producer (the Python runtime, the Chrome-trace importer) and every consumer (extension host,
 * timeline model, report writer) speaks `TraceEvent`. The Python side mirrors this table in
 * `runtime/interleave/protocol.py`; `test/unit/protocol.golden.test.ts` fails if the two drift.
 *
 * Units: `ts` and `dur` are microseconds since the run's epoch (one monotonic clock shared by every
 * process of the run); `pid`/`tid` are OS ids (`tid` is the native thread id, so the main thread's
 * tid equals its pid on Linux); `obj` and `corr` are opaque integers unique within one run.
 */

/** Chrome-trace `cat` values, so users can filter in Perfetto as well as in our timeline. */
export const CATEGORIES = [
  'process', 'thread', 'lock', 'ipc', 'queue', 'pool', 'asyncio',
  'greenlet', 'cpu', 'deadlock', 'local', 'shared', 'generic',
] as const;
export type Category = (typeof CATEGORIES)[number];

/**
 * Phases: `b`/`e` open and close an interval on a lane (paired per pid, tid, kind, obj);
 * `X` is an interval whose end was known when it was recorded (`dur` set); `i` is an instant;
 * `C` is a counter sample.
 */
export type Phase = 'b' | 'e' | 'X' | 'i' | 'C';
export const PHASES: readonly Phase[] = ['b', 'e', 'X', 'i', 'C'];

/** Role of an event in a cross-lane link that shares its `corr` (see `arrows` in webview/model). */
export type FlowRole = 'src' | 'dst' | 'fanout';

export interface KindSpec {
  /** Compact code used on the live wire. Never reuse a code. */
  readonly code: number;
  readonly cat: Category;
  /** Phases this kind may be recorded with. */
  readonly phases: readonly Phase[];
  /** Flow role per phase, when events of this kind carry a `corr` link. */
  readonly flow?: Partial<Record<Phase, FlowRole>>;
  /** Human label used as the Chrome-trace `name`. */
  readonly label: string;
}

/**
 * Every event kind. The comments list the `a` (args) fields; `TraceEvent.obj` and `corr` are
 * described where a kind uses them.
 */
export const KINDS = {
  // ---- run and processes -------------------------------------------------------------------
  /** a: { python, mode, argv, cwd, epochWallUs, runtimeVersion } — once per run, from the root process. */
  'run.meta': { code: 1, cat: 'process', phases: ['i'], label: 'run' },
  /** Child side of a new process. a: { ppid, name, argv?, method: 'main'|'fork'|'spawn'|'forkserver'|'subprocess', external?, daemon? }. corr: from the parent's process.spawn. */
  'process.start': { code: 2, cat: 'process', phases: ['i'], flow: { i: 'dst' }, label: 'process start' },
  /** Parent side: fork(), Process.start(), Popen(). a: { child, method, target?, argv? }. corr links to process.start. */
  'process.spawn': { code: 3, cat: 'process', phases: ['i'], flow: { i: 'src' }, label: 'spawn process' },
  /** a: { code: number|null, signal?: string, killed?: boolean, zombie?: boolean }. corr: links to the joiner's process.join `e`. */
  'process.exit': { code: 4, cat: 'process', phases: ['i'], flow: { i: 'src' }, label: 'process exit' },
  /** Per-process summary, the last record a process sends. a: { emitted, dropped }. */
  'process.summary': { code: 5, cat: 'process', phases: ['i'], label: 'summary' },
  /** Waiting for a child process (Process.join, wait, communicate). a: { child }. corr on `e` only. */
  'process.join': { code: 6, cat: 'process', phases: ['b', 'e', 'X'], flow: { e: 'dst', X: 'dst' }, label: 'join process' },
  /** terminate()/kill()/os.kill sent to a child. a: { child, signal }. */
  'process.signal': { code: 7, cat: 'process', phases: ['i'], label: 'signal' },

  // ---- threads -------------------------------------------------------------------------------
  /** Creator side of Thread.start(). a: { name, target? }. corr links to thread.run `b`. */
  'thread.spawn': { code: 10, cat: 'thread', phases: ['i'], flow: { i: 'src' }, label: 'start thread' },
  /** The thread's own run. b a: { name, daemon, target?, kind: 'thread'|'timer'|'raw'|'worker' }; e a: { error? }. corr: b is dst (from spawn), e is src (to join). */
  'thread.run': { code: 11, cat: 'thread', phases: ['b', 'e'], flow: { b: 'dst', e: 'src' }, label: 'thread' },
  /** Thread.join(). a: { target: tid, ok? }. corr on `e` only. */
  'thread.join': { code: 12, cat: 'thread', phases: ['b', 'e', 'X'], flow: { e: 'dst', X: 'dst' }, label: 'join thread' },
  /** A thread got (or changed) its name. a: { name }. */
  'thread.name': { code: 13, cat: 'thread', phases: ['i'], label: 'thread name' },
  /** time.sleep(). a: { seconds }. */
  'thread.sleep': { code: 14, cat: 'thread', phases: ['b', 'e', 'X'], label: 'sleep' },
  /** An exception escaped a thread, task or process. a: { type, message, stack?: string[] }. */
  'exception': { code: 15, cat: 'thread', phases: ['i'], label: 'exception' },

  // ---- locks and synchronisation ---------------------------------------------------------------
  /** obj: the primitive. a: { type: 'Lock'|'RLock'|'Condition'|'Semaphore'|'BoundedSemaphore'|'Event'|'Barrier'|'mp.Lock'|'mp.RLock'|'asyncio.Lock'|'asyncio.Event'|..., name?, value?, task? }. */
  'lock.create': { code: 20, cat: 'lock', phases: ['i'], label: 'create' },
  /** From request to acquisition. b (or X) a: { holder?: tid of the thread that held the lock when the wait began (threading locks) }; e a: { ok: boolean, timeout?: boolean }. corr on `e` (or X): the lock.release that let it in. */
  'lock.wait': { code: 21, cat: 'lock', phases: ['b', 'e', 'X'], flow: { e: 'dst', X: 'dst' }, label: 'wait for lock' },
  /** From acquisition to release. b a: { depth? } (RLock recursion). */
  'lock.hold': { code: 22, cat: 'lock', phases: ['b', 'e', 'X'], label: 'hold lock' },
  /** A non-blocking acquire or a timed acquire that failed. a: { timeout? }. */
  'lock.fail': { code: 23, cat: 'lock', phases: ['i'], label: 'acquire failed' },
  /** Condition.wait / Event.wait / Barrier.wait (threading or multiprocessing), JoinableQueue.join ('join', obj: the queue). a: { what: 'condition'|'event'|'barrier'|'join', ok? }. corr on `e`: the notify that woke it. */
  'sync.wait': { code: 24, cat: 'lock', phases: ['b', 'e', 'X'], flow: { e: 'dst', X: 'dst' }, label: 'wait' },
  /** Condition.notify[_all] / Event.set / last Barrier arrival / the JoinableQueue.task_done that finished the last task (what 'task_done'). a: { what, n?, task? }. corr fans out to every woken waiter (sync.wait, or async.wait of an asyncio task). */
  'sync.notify': { code: 25, cat: 'lock', phases: ['i'], flow: { i: 'fanout' }, label: 'notify' },
  /** The release of a threading Lock, RLock or Semaphore, of a multiprocessing lock (Lock, RLock, Semaphore, a Value's lock: then maybe in another process than the waiter) or of an asyncio Lock or Semaphore (a.task: the releasing task), that let a waiter in (releases nobody waited for are not recorded as such: see lock.hold). corr fans out to the lock.wait `e` (or X) of the waiting thread(s), or the async.wait of the waiting task(s), it let in. a: { approx?: true } — the releaser's hold was only counted (default mode, past the budget), so the release was not timed: ts is when the waiter got the lock. */
  'lock.release': { code: 26, cat: 'lock', phases: ['i'], flow: { i: 'fanout' }, label: 'release to waiter' },

  // ---- messages (queue = in-process, ipc = across processes) -----------------------------------
  /** obj: the channel. a: { type: 'queue.Queue'|'queue.LifoQueue'|'queue.PriorityQueue'|'queue.SimpleQueue'|'mp.Queue'|'mp.SimpleQueue'|'mp.JoinableQueue'|'Pipe'|'asyncio.Queue'|'os.pipe', name?, duplex?, maxsize? }. */
  'chan.create': { code: 30, cat: 'queue', phases: ['i'], label: 'channel' },
  /** put/send. a: { preview: string (≤ 80 chars), size: bytes }. corr links to msg.recv. */
  'msg.send': { code: 31, cat: 'queue', phases: ['i'], flow: { i: 'src' }, label: 'send' },
  /** get/recv. a: { preview?, size? }. */
  'msg.recv': { code: 32, cat: 'queue', phases: ['i'], flow: { i: 'dst' }, label: 'receive' },
  /** Blocked in get/recv (or put on a full queue). a: { op: 'get'|'put'|'recv'|'send' }. */
  'msg.wait': { code: 33, cat: 'queue', phases: ['b', 'e', 'X'], label: 'blocked on channel' },

  // ---- pools ---------------------------------------------------------------------------------
  /** obj: the pool. a: { type: 'mp.Pool'|'ThreadPool'|'ThreadPoolExecutor'|'ProcessPoolExecutor', workers }. */
  'pool.create': { code: 40, cat: 'pool', phases: ['i'], label: 'pool' },
  /** A task or chunk handed to the pool. a: { fn, method: 'map'|'map_async'|'imap'|'starmap'|'apply'|'apply_async'|'submit'|..., preview? }. corr: the task. */
  'pool.submit': { code: 41, cat: 'pool', phases: ['i'], flow: { i: 'src' }, label: 'submit' },
  /** The task running on a worker. e a: { ok, error? }. */
  'pool.task': { code: 42, cat: 'pool', phases: ['b', 'e', 'X'], flow: { b: 'dst', e: 'src', X: 'dst' }, label: 'task' },
  /** The result (or exception) delivered to the caller or its callback. a: { ok, callback? }. */
  'pool.result': { code: 43, cat: 'pool', phases: ['i'], flow: { i: 'dst' }, label: 'result' },
  /** close / join / terminate / shutdown. a: { op }. */
  'pool.op': { code: 44, cat: 'pool', phases: ['i'], label: 'pool op' },
  /** Caller blocked on a pool (get(), map(), result(), join()). a: { op }. */
  'pool.wait': { code: 45, cat: 'pool', phases: ['b', 'e', 'X'], label: 'wait for pool' },

  // ---- shared state --------------------------------------------------------------------------
  /** obj: Value/Array/Manager proxy. a: { type: 'Value'|'Array'|'Manager.dict'|'Manager.list'|..., typecode?, name? }. */
  'shared.create': { code: 50, cat: 'shared', phases: ['i'], label: 'shared object' },
  /** a: { preview, index? }. */
  'shared.read': { code: 51, cat: 'shared', phases: ['i'], label: 'read' },
  /** a: { preview, index? }. */
  'shared.write': { code: 52, cat: 'shared', phases: ['i'], label: 'write' },
  /** A Manager proxy call: a message to the manager process and its reply. a: { method, preview? }. */
  'manager.call': { code: 53, cat: 'ipc', phases: ['b', 'e', 'X'], label: 'manager call' },
  /** threading.local attribute bound in this thread. obj: the local. a: { attr, preview }. */
  'local.bind': { code: 55, cat: 'local', phases: ['i'], label: 'thread-local' },

  // ---- asyncio (obj: the task; each task is its own lane inside its thread) -----------------------
  // Events recorded on behalf of a running task (msg.send/msg.recv of an asyncio.Queue, async.spawn,
  // async.slow) carry a.task: the task's obj, which puts them on its lane (see laneObj).
  /**
   * Task lifetime, from its first run step. b a: { name, coro, parent?: obj, spawnTs?: µs }; e a: { state: 'done'|'cancelled'|'error', error?, steps? }.
   * corr: b is dst from the creator's async.spawn. A b with spawnTs also stands for that spawn (creation and first step
   * recorded as one event): it was created at spawnTs by the task `parent` (else outside any task) at `loc`, and readers
   * draw the spawn from it (webview/model/taskStart.ts). e steps: run steps counted, not recorded one by one (default mode).
   */
  'async.task': { code: 60, cat: 'asyncio', phases: ['b', 'e'], flow: { b: 'dst' }, label: 'task' },
  /** One run step of a task (between suspensions). */
  'async.step': { code: 61, cat: 'asyncio', phases: ['b', 'e', 'X'], label: 'step' },
  /** Task suspended on an awaitable. a: { what: 'sleep'|'queue.get'|'queue.put'|'lock'|'event'|'condition'|'future'|'gather'|... }. corr on `e` (or X): the asyncio Lock/Semaphore release (lock.release) or Event.set/Condition.notify (sync.notify) that woke it. */
  'async.wait': { code: 62, cat: 'asyncio', phases: ['b', 'e', 'X'], flow: { e: 'dst', X: 'dst' }, label: 'await' },
  /** A callback or step that blocked the event loop longer than the threshold. a: { callback }. */
  'async.slow': { code: 63, cat: 'asyncio', phases: ['X'], label: 'blocked the loop' },
  /** Creator side of asyncio.create_task / ensure_future. a: { name }. corr links to async.task `b`. */
  'async.spawn': { code: 64, cat: 'asyncio', phases: ['i'], flow: { i: 'src' }, label: 'create task' },

  // ---- gevent (obj: the greenlet; each greenlet is its own lane inside its thread) -------------
  /** Greenlet lifetime. b a: { name, parent? }; e a: { ok, error? }. */
  'greenlet.run': { code: 70, cat: 'greenlet', phases: ['b', 'e'], label: 'greenlet' },
  /** Control passed to greenlet obj. a: { from: obj|null }. */
  'greenlet.switch': { code: 71, cat: 'greenlet', phases: ['i'], label: 'switch' },

  // ---- CPU -----------------------------------------------------------------------------------
  /** Per-thread CPU use over the last interval. a: { pct: 0..100 of one core }. */
  'cpu.thread': { code: 80, cat: 'cpu', phases: ['C'], label: 'thread CPU' },
  /** Per-process CPU use. a: { pct: 0..100·cores, cores }. */
  'cpu.process': { code: 81, cat: 'cpu', phases: ['C'], label: 'process CPU' },

  // ---- deadlocks -----------------------------------------------------------------------------
  /** a: { reason: 'cycle'|'all-blocked', threads: DeadlockThread[], scope?: 'run', processes?: number[], hint?: string }. Each process reports its own threads: processes blocked on each other's multiprocessing locks report separately, and readers link a waiter's waitingFor to the holding of a thread in another report (webview/model/arrows.ts). scope 'run': every thread of every process of the run is blocked, some on another process (a multiprocessing queue's get, a pipe, a process's join, a lock held elsewhere); `processes` lists the processes in it (this one first; each reports its own threads), `hint` says why when the runtime knows a usual cause (a queue's feeder thread writing what nobody reads; no other process left alive). */
  'deadlock': { code: 90, cat: 'deadlock', phases: ['i'], label: 'deadlock' },
  /** Two locks taken in opposite orders (a potential deadlock), by threads of one process or, for multiprocessing locks, by two processes (reported by the later one; first: the other process's locations). a: { locks: [obj, obj], first: string[] (locs), second: string[] }. */
  'lock.inversion': { code: 91, cat: 'deadlock', phases: ['i'], label: 'lock-order inversion' },

  // ---- aggregation (default mode counts instead of recording) -----------------------------------
  /** Uncontended operations counted over [ts, ts+dur]. obj: the lock/queue (or pool, for 'task': short pool tasks beyond the default-mode budget). a: { what: 'lock'|'queue'|'task'|'local'|'sleep', count, holdUs? } ('local': threading.local bindings; 'sleep': time.sleep(0) yields, obj absent). */
  'aggregate': { code: 95, cat: 'lock', phases: ['X'], label: 'counted operations' },

  // ---- events read from other tools' Chrome traces -------------------------------------------------
  /** a: { name, cat, args? }. */
  'generic.slice': { code: 120, cat: 'generic', phases: ['b', 'e', 'X'], label: 'slice' },
  /** a: { name, cat, args? }. */
  'generic.instant': { code: 121, cat: 'generic', phases: ['i'], label: 'instant' },
  /** a: { name, values: Record<string, number> }. */
  'generic.counter': { code: 122, cat: 'generic', phases: ['C'], label: 'counter' },
  /** A Chrome flow event (ph s/t/f). a: { name }. corr: the flow id. */
  'generic.flow': { code: 123, cat: 'generic', phases: ['i'], flow: { i: 'src' }, label: 'flow' },
} as const satisfies Record<string, KindSpec>;

export type Kind = keyof typeof KINDS;
export const KIND_NAMES = Object.keys(KINDS) as Kind[];

const kindByCode = new Map<number, Kind>(KIND_NAMES.map((k) => [KINDS[k].code, k]));
export function kindFromCode(code: number): Kind | undefined {
  return kindByCode.get(code);
}
export function isKind(value: unknown): value is Kind {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(KINDS, value);
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Args = { [key: string]: Json };

export interface TraceEvent {
  /** What happened (a key of `KINDS`). */
  k: Kind;
  ph: Phase;
  /** Microseconds since the run's epoch. */
  ts: number;
  pid: number;
  /** Native thread id. */
  tid: number;
  /** Duration in microseconds, `X` only. */
  dur?: number;
  /** The lock/queue/pipe/pool/task/greenlet/shared object involved. */
  obj?: number;
  /** Correlation id linking the two ends of a message, task, wake-up, spawn or join. */
  corr?: number;
  /** The user's source location `path:line` (absolute path), when one exists. */
  loc?: string;
  /** Kind-specific fields (see the comments in `KINDS`). */
  a?: Args;
}

/** One thread in a deadlock report. */
export interface DeadlockThread {
  pid: number;
  tid: number;
  /** The thread's name; for a thread of another process in a cycle between processes, as that process posted it on the run's board (that process's report has its stack). */
  name: string;
  /** The object it waits for, if it waits on an instrumented primitive. */
  waitingFor?: number;
  /** What it waits in: the primitive's type, 'Thread.join', 'Process.join', 'multiprocessing.Queue.get', 'multiprocessing.Event.wait' (and Condition, Barrier), 'Connection.recv', 'pipe read', 'pipe write', 'Pool result', 'Pool task' (an idle pool worker process), 'ThreadPool result', 'ThreadPool task' (a ThreadPool's idle worker thread), 'subprocess' (Popen.wait() or a read/write of one of its pipes, on a child started by subprocess that is itself blocked on a pipe to this process), and for that child's own entry (pid = tid = the child's, no stack: it has no recorder) 'pipe read (stdin)', 'pipe write (stdout)' or 'pipe write (stderr)'. */
  waitType?: string;
  /** For a Process.join: the joined process's pid; for a multiprocessing Lock/RLock held in another process: the holder's pid; for a 'subprocess' wait: the child's pid, and in the child's entry the pid of the process it waits for. */
  waitingForProcess?: number;
  /** The name of the thread that holds what it waits for (or that it joins); for a multiprocessing lock whose holder process has ended, that process's name when known. */
  waitingForOwner?: string;
  /** That holder (thread, or process for a multiprocessing lock) has ended without releasing it. */
  ownerEnded?: boolean;
  holding: number[];
  /** Innermost frame last, `path:line in function`. */
  stack: string[];
}

/**
 * The lane object of an event: `undefined` for its thread's lane `(pid, tid)`, else the asyncio task or
 * greenlet whose own lane `(pid, tid, obj)` inside that thread it belongs to. Task and greenlet kinds
 * name it in `obj`; any other event recorded on behalf of a running asyncio task (its queue messages, the
 * spawn of a task it creates, its slow steps) names it in `a.task`. All tasks of a loop share one thread,
 * so without `a.task` a message from one task to another would stay inside one lane and get no arrow.
 */
export function laneObj(ev: Pick<TraceEvent, 'k' | 'obj' | 'a'>): number | undefined {
  if (ev.k === 'async.task' || ev.k === 'async.step' || ev.k === 'async.wait' || ev.k === 'greenlet.run') return ev.obj;
  const task = ev.a?.task;
  return typeof task === 'number' && Number.isFinite(task) ? task : undefined;
}

/** Location helpers: `loc` is `path:line`, paths may contain ':' (Windows drive letters). */
/** What a `deadlock` event's args say happened, in words (the timeline's marker and the editor's notification). */
export function deadlockReason(a: Args | undefined): string {
  if (a?.reason === 'cycle') return 'threads wait for each other in a cycle';
  return a?.scope === 'run' ? 'every thread of every process is blocked' : 'every thread is blocked';
}

export function parseLoc(loc: string): { file: string; line: number } | undefined {
  const i = loc.lastIndexOf(':');
  if (i <= 0) return undefined;
  const line = Number(loc.slice(i + 1));
  if (!Number.isInteger(line) || line < 1) return undefined;
  return { file: loc.slice(0, i), line };
}
