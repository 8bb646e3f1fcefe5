"""Interleave runtime benchmark: traced/plain wall-time ratios, start-up, wire bytes per event, memory.

    python3 bench/runtime/run.py [--rounds N] [--only NAME[,NAME]] [--modes default,full]

For each workload, plain and traced runs alternate (plain, default, full, plain, ...). "ratio" compares
the medians of the series; "paired" is the median of each round's traced/plain ratio (the runs of a
round are seconds apart, so they mostly share the machine's state of the moment); "live" is the
paired ratio of the run as the extension makes it (--stream: the supervisor relays every event as it
arrives, beside the program) to a receiver that discards what it gets. Both compare
"program": the workload's own wall time measured inside the process (the tracer's cost while the
program runs); "total" is the whole command including interpreter start-up, the supervisor
and writing the Chrome trace. Bytes per event are measured by streaming each workload to a counting
receiver (--stream). Peak RSS is the traced program's own maximum resident size.
"""
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RUNTIME = os.path.join(ROOT, "runtime")
WORKLOADS = [
    ("lock_loop", "2 threads x 100k with-lock", 2.2, 8.0),
    ("queue_threads", "4x25k items via queue.Queue", 1.7, 2.0),
    ("mp_pool", "Pool(4).map 2,000 tasks", 1.3, 1.5),
    ("mp_queue", "2 procs x 5,000 via mp.Queue", 1.3, 1.5),
    ("executor", "ThreadPoolExecutor(8) x 20k", 1.3, 1.5),
    ("asyncio_tasks", "10k asyncio tasks x 3 sleep(0)", 1.3, 1.5),
]


def env():
    e = dict(os.environ)
    e["PYTHONPATH"] = RUNTIME + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    e.pop("INTERLEAVE_TOKEN", None)
    return e


def run(cmd, extra_env=None):
    e = env()
    if extra_env:
        e.update(extra_env)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=e, timeout=600)
    total = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit("failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr.decode()[-2000:]))
    lines = [l for l in p.stderr.decode().splitlines() if l.startswith("BENCH ")]
    prog, rss = (float(lines[-1].split()[1]), int(lines[-1].split()[2])) if lines else (total, 0)
    return prog, total, rss


def plain_cmd(name):
    return [sys.executable, os.path.join(HERE, "timed.py"), os.path.join(HERE, name + ".py")]


def traced_cmd(name, mode, out=None, stream=None):
    cmd = [sys.executable, "-m", "interleave", "run", "--mode", mode]
    if out:
        cmd += ["--output", out]
    if stream:
        cmd += ["--stream", stream]
    return cmd + [os.path.join(HERE, "timed.py"), os.path.join(HERE, name + ".py")]


class Sink(object):
    """A live receiver that reads and discards (for the "live" column: the run as the extension makes
    it, --stream through the supervisor's relay, without the cost of a host parsing what arrives)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.read, args=(c,), daemon=True).start()

    def read(self, c):
        while c.recv(1 << 16):
            pass
        c.close()


class CountingReceiver(Sink):
    """Accepts wire connections and counts bytes and events (what a live host would receive). Bytes are
    counted as they cross the socket (compressed, when the hello says "z":"deflate"); events are
    counted from the inflated lines."""

    def __init__(self):
        self.bytes = 0
        self.events = 0
        self.lock = threading.Lock()
        Sink.__init__(self)

    def read(self, c):
        f = c.makefile("rb")
        hello = f.readline()
        n = len(hello)
        ev = 0
        z = zlib.decompressobj() if json.loads(hello).get("z") == "deflate" else None
        pending = b""
        while True:
            data = f.read1(1 << 16)
            if not data:
                break
            n += len(data)
            pending += z.decompress(data) if z is not None else data
            lines = pending.split(b"\n")
            pending = lines.pop()
            for line in lines:
                msg = json.loads(line)
                if msg.get("t") == "batch":
                    ev += len(msg["ev"])
        with self.lock:
            self.bytes += n
            self.events += ev


def wire_bytes(name, mode):
    r = CountingReceiver()
    cmd = traced_cmd(name, mode, stream=r.addr)
    run(cmd, {"INTERLEAVE_TOKEN": "b" * 64})
    time.sleep(0.3)  # let the reader threads finish counting (bench only, not a test)
    return r.events, (r.bytes / r.events if r.events else 0.0)


def main(argv):
    rounds = 5
    only = None
    modes = ["default", "full"]
    i = 0
    while i < len(argv):
        if argv[i] == "--rounds":
            rounds = int(argv[i + 1]); i += 2
        elif argv[i] == "--only":
            only = set(argv[i + 1].split(",")); i += 2
        elif argv[i] == "--modes":
            modes = argv[i + 1].split(","); i += 2
        else:
            raise SystemExit("unknown argument %s" % argv[i])
    sys.path.insert(0, RUNTIME)
    from interleave.supervisor import ensure_bytecode
    ensure_bytecode()
    out = os.path.join(HERE, ".bench-trace.json")
    print("Python %s, %d cores, %d rounds (medians); load average %.1f (figures are only comparable on an idle machine)" % (
        sys.version.split()[0], os.cpu_count(), rounds, os.getloadavg()[0]))

    # start-up: `python -m interleave run` as typed, and as the extension and the Node CLI launch it
    # (extension/run/launch.ts: `python script.py` with the runtime's sitecustomize first on PYTHONPATH and
    # the options in INTERLEAVE_LAUNCH; the launched interpreter forks its supervisor as it starts).
    # Also the cost of site itself on this machine, which the typed form pays twice.
    empty = os.path.join(HERE, "empty.py")
    pl, tr, trs, nosite = [], [], [], []
    run(plain_cmd("empty")); run(traced_cmd("empty", "default", out))  # warm caches
    for _ in range(max(rounds, 7)):
        pl.append(run([sys.executable, empty])[1])
        nosite.append(run([sys.executable, "-S", empty])[1])
        tr.append(run(traced_cmd("empty", "default", out)[:-2] + [empty])[1])
        trs.append(run([sys.executable, empty], extra_env={
            "PYTHONPATH": os.path.join(RUNTIME, "interleave", "_boot"),
            "INTERLEAVE_LAUNCH": "\x1f".join(["--mode", "default", "--output", out])})[1])
    med = lambda xs: 1000 * statistics.median(xs)
    print("start-up: plain %.1f ms; traced %.1f ms (+%.1f ms) as typed, %.1f ms (+%.1f ms) as launched by the "
          "extension/CLI; site alone costs %.1f ms per interpreter here" % (
              med(pl), med(tr), med(tr) - med(pl), med(trs), med(trs) - med(pl), med(pl) - med(nosite)))
    print()
    hdr = "%-14s %-32s %-7s %9s %9s %7s %7s %7s %7s %6s %9s %9s %9s" % (
        "workload", "", "mode", "plain s", "traced s", "ratio", "paired", "live", "goal", "total", "events", "B/event",
        "RSS MiB")
    print(hdr)
    sink = Sink()
    for name, desc, goal_default, goal_full in WORKLOADS:
        if only and name not in only:
            continue
        plain = {"prog": [], "total": [], "rss": []}
        traced = {m: {"prog": [], "total": [], "rss": [], "live": []} for m in modes}
        for _ in range(rounds):
            p = run(plain_cmd(name))
            plain["prog"].append(p[0]); plain["total"].append(p[1]); plain["rss"].append(p[2])
            for m in modes:
                t = run(traced_cmd(name, m, out))
                traced[m]["prog"].append(t[0]); traced[m]["total"].append(t[1]); traced[m]["rss"].append(t[2])
                traced[m]["live"].append(run(traced_cmd(name, m, stream=sink.addr), {"INTERLEAVE_TOKEN": "s" * 64})[0])
        pp = statistics.median(plain["prog"])
        pt = statistics.median(plain["total"])
        print("%-14s %-32s %-7s %9.3f %9s %7s %7s %7s %7s %6s %9s %9s %9.1f" % (
            name, desc, "plain", pp, "", "", "", "", "", "", "", "", max(plain["rss"]) / 1024.0))
        for m in modes:
            tp = statistics.median(traced[m]["prog"])
            tt = statistics.median(traced[m]["total"])
            # Each round's traced run against the plain run just before it: this VM has slow phases
            # lasting seconds (a plain loop's cost moves by 1.7x between them), which a ratio of
            # medians over the whole series feels and a round's pair mostly shares.
            paired = statistics.median(t / p for t, p in zip(traced[m]["prog"], plain["prog"]))
            live = statistics.median(t / p for t, p in zip(traced[m]["live"], plain["prog"]))
            events, bpe = wire_bytes(name, m)
            goal = goal_default if m == "default" else goal_full
            print("%-14s %-32s %-7s %9.3f %9.3f %6.2fx %6.2fx %6.2fx %6.1fx %5.2fx %9d %9.1f %9.1f" % (
                "", "", m, pp, tp, tp / pp, paired, live, goal, tt / pt, events, bpe, max(traced[m]["rss"]) / 1024.0))
    print("load average at the end: %.1f" % os.getloadavg()[0])
    if os.path.exists(out):
        os.unlink(out)


if __name__ == "__main__":
    main(sys.argv[1:])
