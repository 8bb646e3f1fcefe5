"""Python mirror of protocol/events.ts (KINDS) and protocol/wire.ts constants.

Keep in step with the TypeScript: test/unit/protocol.golden.test.ts reads a trace this package wrote
and fails when a kind, code, phase or field disagrees. Flow roles use JSON-ish dicts so the table reads
like the TypeScript one.
"""

WIRE_VERSION = 1
FORMAT_VERSION = 1
PRODUCER = "interleave"
MAX_LINE_BYTES = 16 * 1024 * 1024
def json_default(o):
    """JSON for values that have no JSON form (the `default` of every encoder of events): sets and
    tuples as lists, anything else as its str()."""
    try:
        if isinstance(o, (set, frozenset, tuple)):
            return list(o)
        return str(o)
    except Exception:
        return "<?>"


def plain_data(v, max_depth=32, depth=0):
    """v as exact built-in JSON data, as a JSON round trip would give it back: text keys (written as
    JSON writes them), lists for tuples and sets, exact int/float/str for their subclasses (marshal
    refuses those), json_default() text for any other object; "<deep>" below max_depth levels.
    The program's stream uses it for payloads it cannot encode, the collector for frames' payloads
    that JSON cannot encode."""
    if depth > max_depth:
        return "<deep>"
    if isinstance(v, dict):
        return {_json_key(k): plain_data(x, max_depth, depth + 1) for k, x in v.items()}
    if isinstance(v, (list, tuple, set, frozenset)):
        return [plain_data(x, max_depth, depth + 1) for x in v]
    if v is None or v is True or v is False:
        return v
    try:
        if isinstance(v, int):
            return int(v)
        if isinstance(v, float):
            return float(v)
        if isinstance(v, str):
            return str.__str__(v)
    except Exception:
        return "<?>"
    return json_default(v)


def _json_key(k):
    if isinstance(k, str):
        return str.__str__(k)
    if k is None or k is True or k is False:
        return {None: "null", True: "true", False: "false"}[k]
    try:
        return str(k)
    except Exception:
        return "<?>"


ENV_STREAM = "INTERLEAVE_STREAM"
#: The supervisor's pid and the write end of its signal-report pipe (boot._take_signal_report_fd).
ENV_SUPERVISOR_PID = "INTERLEAVE_SUPERVISOR_PID"
ENV_SIGNAL_FD = "INTERLEAVE_SIGNAL_FD"
ENV_TOKEN = "INTERLEAVE_TOKEN"
ENV_EPOCH = "INTERLEAVE_EPOCH_NS"
ENV_MODE = "INTERLEAVE_MODE"
ENV_DEADLOCK_TIMEOUT = "INTERLEAVE_DEADLOCK_TIMEOUT"
ENV_CPU_INTERVAL = "INTERLEAVE_CPU_INTERVAL_MS"
ENV_ON_DEADLOCK = "INTERLEAVE_ON_DEADLOCK"
ENV_PARENT_CORR = "INTERLEAVE_PARENT_CORR"
#: Launch by fork (protocol/wire.ts ENV_LAUNCH): the `run` options joined by LAUNCH_SEPARATOR; see launch.py.
ENV_LAUNCH = "INTERLEAVE_LAUNCH"
LAUNCH_SEPARATOR = "\x1f"
#: Set by the supervisor for the program when its own collector receives: batches go as binary frames
#: (runtime-internal; the extension host always gets v1 JSON lines, see stream.py and collector.py).
ENV_WIRE_ENC = "INTERLEAVE_WIRE_ENC"
ENC_MARSHAL = "marshal"
#: The run's wake board (runtime-internal): a file the supervisor makes for the run and removes at its
#: end, WAKE_BOARD_SLOTS slots of (obj, corr, ts) that every process of the run may map, then as many
#: lock slots of (waiters, obj, ts, pid, tid, holder obj, holder pid, holder tid): see patches/mp_util.py; the order, wait and process slots below; then BOARD_FLAGS_SIZE bytes of
#: flags for the supervisor (the first: FLAG_DEADLOCK_EXIT when a process other than the program's
#: main one ended itself on a deadlock, --on-deadlock exit: the run then ends with DEADLOCK_EXIT_CODE).
ENV_WAKE_BOARD = "INTERLEAVE_WAKE_BOARD"
WAKE_BOARD_SLOTS = 4096
WAKE_SLOT_FORMAT = "<qqq"
LOCK_SLOT_FORMAT = "<qqqqqqqq"
#: Then ORDER_SLOTS slots of (a, b, pid, where a was taken, where b was taken): the orders in which a
#: process took two multiprocessing locks, one inside the other, for lock-order inversions between
#: processes (patches/mp_util.py order_seen).
ORDER_SLOTS = 256
ORDER_SLOT_FORMAT = "<qqq120s120s"
#: Then WAIT_SLOTS slots of (pid, tid, thread ident, obj, since, 8 objs, the thread's name in UTF-8, cut
#: to 48 bytes): a thread blocked without a
#: timeout on a multiprocessing lock (obj, since monotonic ns) and the multiprocessing locks it holds,
#: for deadlock cycles between processes (deadlock.py _check_shared_cycles).
WAIT_SLOTS = 256
WAIT_SLOT_FORMAT = "<qqqqq8q48s"
#: Then PROC_SLOTS slots of (pid, blocked since, checked at, reported), times in monotonic ns: each
#: process's watchdog says whether every thread of its process is blocked (since: the latest of their
#: waits' starts; 0 while one runs), for deadlocks that span the run (deadlock.py _check_run_blocked),
#: and (reported = 1) that it has reported its part of one.
PROC_SLOTS = 256
PROC_SLOT_FORMAT = "<qqqq"
BOARD_FLAGS_SIZE = 8
FLAG_DEADLOCK_EXIT = 1
#: The hello field announcing the framing (program -> supervisor) and the compression (supervisor ->
#: extension host, protocol/wire.ts WireHello.z).
HELLO_ENC = "enc"
HELLO_Z = "z"
Z_DEFLATE = "deflate"

CATEGORIES = ("process", "thread", "lock", "ipc", "queue", "pool", "asyncio",
              "greenlet", "cpu", "deadlock", "local", "shared", "generic")
PHASES = ("b", "e", "X", "i", "C")
#: A packed wire record (runtime-internal, marshal frames only; see recorder.pack): code, the phase's index
#: in PHASES, ts, tid, obj, corr, sid, dur and aid (0, or the id of an `a` the batches' "args" tables
#: carry), as little-endian integers. The collector expands it to the tuple.
PACKED_FORMAT = "<BBqqqqqqq"
#: An asyncio task's start (async.task "b", the one frequent event with a text of its own) packed the same
#: way, then two more integers: the creating task's obj (or 0) and when the task was created (µs since the
#: run's epoch, or 0), then the task's name in UTF-8 to the end of the record. Its aid's args (the
#: coroutine's name) are shared by every task of that coroutine; the collector adds name, parent and
#: spawnTs to a copy.
PACKED_TASK_FORMAT = PACKED_FORMAT + "qq"
#: Or'ed into a packed record's phase index: its ts is the raw CLOCK_MONOTONIC reading in ns and its dur
#: in ns (the collector takes the run's epoch off and divides), which spares the hottest paths two
#: multi-digit integer operations per event.
PACKED_NS = 0x80

# name: (code, cat, phases, flow roles per phase, label)
KINDS = {
    "run.meta": (1, "process", "i", {}, "run"),
    "process.start": (2, "process", "i", {"i":"dst"}, "process start"),
    "process.spawn": (3, "process", "i", {"i":"src"}, "spawn process"),
    "process.exit": (4, "process", "i", {"i":"src"}, "process exit"),
    "process.summary": (5, "process", "i", {}, "summary"),
    "process.join": (6, "process", "beX", {"e":"dst","X":"dst"}, "join process"),
    "process.signal": (7, "process", "i", {}, "signal"),
    "thread.spawn": (10, "thread", "i", {"i":"src"}, "start thread"),
    "thread.run": (11, "thread", "be", {"b":"dst","e":"src"}, "thread"),
    "thread.join": (12, "thread", "beX", {"e":"dst","X":"dst"}, "join thread"),
    "thread.name": (13, "thread", "i", {}, "thread name"),
    "thread.sleep": (14, "thread", "beX", {}, "sleep"),
    "exception": (15, "thread", "i", {}, "exception"),
    "lock.create": (20, "lock", "i", {}, "create"),
    "lock.wait": (21, "lock", "beX", {"e":"dst","X":"dst"}, "wait for lock"),
    "lock.hold": (22, "lock", "beX", {}, "hold lock"),
    "lock.fail": (23, "lock", "i", {}, "acquire failed"),
    "sync.wait": (24, "lock", "beX", {"e":"dst","X":"dst"}, "wait"),
    "sync.notify": (25, "lock", "i", {"i":"fanout"}, "notify"),
    "lock.release": (26, "lock", "i", {"i":"fanout"}, "release to waiter"),
    "chan.create": (30, "queue", "i", {}, "channel"),
    "msg.send": (31, "queue", "i", {"i":"src"}, "send"),
    "msg.recv": (32, "queue", "i", {"i":"dst"}, "receive"),
    "msg.wait": (33, "queue", "beX", {}, "blocked on channel"),
    "pool.create": (40, "pool", "i", {}, "pool"),
    "pool.submit": (41, "pool", "i", {"i":"src"}, "submit"),
    "pool.task": (42, "pool", "beX", {"b":"dst","e":"src","X":"dst"}, "task"),
    "pool.result": (43, "pool", "i", {"i":"dst"}, "result"),
    "pool.op": (44, "pool", "i", {}, "pool op"),
    "pool.wait": (45, "pool", "beX", {}, "wait for pool"),
    "shared.create": (50, "shared", "i", {}, "shared object"),
    "shared.read": (51, "shared", "i", {}, "read"),
    "shared.write": (52, "shared", "i", {}, "write"),
    "manager.call": (53, "ipc", "beX", {}, "manager call"),
    "local.bind": (55, "local", "i", {}, "thread-local"),
    "async.task": (60, "asyncio", "be", {"b":"dst"}, "task"),
    "async.step": (61, "asyncio", "beX", {}, "step"),
    "async.wait": (62, "asyncio", "beX", {"e":"dst","X":"dst"}, "await"),
    "async.slow": (63, "asyncio", "X", {}, "blocked the loop"),
    "async.spawn": (64, "asyncio", "i", {"i":"src"}, "create task"),
    "greenlet.run": (70, "greenlet", "be", {}, "greenlet"),
    "greenlet.switch": (71, "greenlet", "i", {}, "switch"),
    "cpu.thread": (80, "cpu", "C", {}, "thread CPU"),
    "cpu.process": (81, "cpu", "C", {}, "process CPU"),
    "deadlock": (90, "deadlock", "i", {}, "deadlock"),
    "lock.inversion": (91, "deadlock", "i", {}, "lock-order inversion"),
    "aggregate": (95, "lock", "X", {}, "counted operations"),
    "generic.slice": (120, "generic", "beX", {}, "slice"),
    "generic.instant": (121, "generic", "i", {}, "instant"),
    "generic.counter": (122, "generic", "C", {}, "counter"),
    "generic.flow": (123, "generic", "i", {"i":"src"}, "flow"),
}

CODES = {name: spec[0] for name, spec in KINDS.items()}
NAMES = {spec[0]: name for name, spec in KINDS.items()}
CATS = {name: spec[1] for name, spec in KINDS.items()}
LABELS = {name: spec[4] for name, spec in KINDS.items()}


def flow_role(k, ph, corr):
    """'src' | 'dst' | 'fanout' | None, as protocol/flows.ts flowRole."""
    if not corr:
        return None
    if k == "generic.flow":
        return None
    return KINDS[k][3].get(ph)


def lane_obj(k, obj, a=None):
    """The lane object of an event, exactly as events.ts laneObj: None for its thread's lane, else the
    asyncio task or greenlet whose own lane (pid, tid, obj) it belongs to. Task and greenlet kinds name
    it in obj; any other event recorded on behalf of a running asyncio task names it in a.task (a
    number), so a message between two tasks of one thread links two lanes and gets its arrow."""
    if k in ("async.task", "async.step", "async.wait", "greenlet.run"):
        return obj if obj is not None else None
    task = a.get("task") if isinstance(a, dict) else None
    if isinstance(task, (int, float)) and not isinstance(task, bool) and task == task \
            and task not in (float("inf"), float("-inf")):
        return task
    return None

# Exit status of a run ended by the deadlock watchdog with --on-deadlock exit (documented in cli.py).
DEADLOCK_EXIT_CODE = 86
