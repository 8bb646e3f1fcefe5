"""The supervisor: runs the program as a child Python process with the recorder booted in it.

The child is `python script.py args` (or `python -m module args`) exactly, so argv, __main__, __file__,
sys.path[0], relative imports, stdio and the exit code are those of a plain run; the recorder comes in
through `_boot/sitecustomize.py` on PYTHONPATH.

Signals: SIGINT/SIGTERM/SIGHUP/SIGQUIT are blocked here and read with sigwaitinfo, which tells who sent
them. Signals the kernel sent to the whole terminal process group (Ctrl-C, hang-up) already reached the
program, so they are not forwarded again; signals sent to the supervisor by another process (the editor
stopping the run, `kill`) are forwarded. When the program dies of a signal the supervisor dies of the same
signal after writing the trace, so callers see the same status as for a plain run.

The supervisor runs the collector (loopback, fresh token): the program's processes send it binary
frames (cheap for them to encode, see stream.py). With --output it writes the merged Chrome trace once
the program and every connection have finished (bounded wait); with --stream it relays every connection
live to the given receiver as v1 JSON lines (deflated unless INTERLEAVE_STREAM_DEFLATE=0), on the
supervisor's own core, and adds the program's exit record.
"""
import os
import sys
import time

from . import protocol as P

LINGER_SECONDS = float(os.environ.get("INTERLEAVE_LINGER", "5"))
_BOOT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_boot")


def ensure_bytecode():
    """Compiles the runtime once. The program's processes import it at start-up, and with
    PYTHONDONTWRITEBYTECODE=1 (set on this machine) every process would compile it again."""
    try:
        tag = sys.implementation.cache_tag
        pkg = os.path.dirname(os.path.abspath(__file__))
        for folder in (pkg, os.path.join(pkg, "patches"), os.path.join(pkg, "_boot")):
            for entry in os.scandir(folder):
                if not entry.name.endswith(".py"):
                    continue
                pyc = os.path.join(folder, "__pycache__", "%s.%s.pyc" % (entry.name[:-3], tag))
                try:
                    if os.stat(pyc).st_mtime >= entry.stat().st_mtime:
                        continue
                except OSError:
                    pass
                import py_compile
                try:
                    py_compile.compile(entry.path, cfile=pyc, doraise=True)
                except Exception:
                    return  # read-only install: nothing to gain from retrying every file
    except Exception:
        pass


def child_env(o, stream_addr, token, epoch):
    env = dict(os.environ)
    env[P.ENV_STREAM] = stream_addr
    env[P.ENV_TOKEN] = token
    env[P.ENV_EPOCH] = str(epoch)
    env[P.ENV_MODE] = o.mode
    env[P.ENV_DEADLOCK_TIMEOUT] = repr(float(o.deadlock_timeout))
    env[P.ENV_CPU_INTERVAL] = repr(float(o.cpu_interval))
    env[P.ENV_ON_DEADLOCK] = o.on_deadlock
    env[P.ENV_SUPERVISOR_PID] = str(os.getpid())
    env.pop(P.ENV_PARENT_CORR, None)
    old = env.get("PYTHONPATH")
    if not old or old.split(os.pathsep)[0] != _BOOT_DIR:     # (launch.py's programs have it already)
        env["PYTHONPATH"] = _BOOT_DIR + (os.pathsep + old if old else "")
    env.pop(P.ENV_LAUNCH, None)
    return env


def interpreter_args():
    """The options given to the interpreter running us, for the program's interpreter, so that
    `python -X dev -W error -O -m interleave run prog.py` runs prog.py as `python -X dev -W error -O
    prog.py` would. Taken from sys.orig_argv (what was typed, so options that came from PYTHON*
    variables stay in the inherited environment and orig_argv matches a plain run); before 3.10 rebuilt
    from sys.flags, sys.warnoptions and sys._xoptions. Left out on purpose, because the recorder boots
    through PYTHONPATH and sitecustomize: -E (would ignore PYTHONPATH), -S (no sitecustomize) and -I
    (both; its other effects, -s and -P, are kept)."""
    orig = getattr(sys, "orig_argv", None)
    if not orig:
        return _args_from_flags()
    args = []
    i = 1
    while i < len(orig):
        x = orig[i]
        if x in ("-m", "-c", "-") or not x.startswith("-"):
            break               # the end of the interpreter's options (here: -m interleave)
        if x in ("-X", "-W", "--check-hash-based-pycs") and i + 1 < len(orig):
            args += [x, orig[i + 1]]
            i += 2
            continue
        if x.startswith(("-X", "-W", "--")):
            args.append(x)
        else:
            letters = x[1:]
            keep = letters.replace("E", "").replace("S", "")
            if "I" in keep:
                keep = keep.replace("I", "") + "s" + ("P" if sys.version_info >= (3, 11) else "")
            if keep:
                args.append("-" + keep)
        i += 1
    return args


def _args_from_flags():
    """Python 3.9: no sys.orig_argv. As subprocess._args_from_interpreter_flags (which multiprocessing
    uses), with every -X option and without -E/-S/-I (see interpreter_args)."""
    f = sys.flags
    args = []
    if f.optimize > 0:
        args.append("-" + "O" * f.optimize)
    for flag, opt in (("debug", "d"), ("verbose", "v"), ("bytes_warning", "b"), ("quiet", "q")):
        v = getattr(f, flag, 0)
        if v > 0:
            args.append("-" + opt * v)
    if f.no_user_site or f.isolated:
        args.append("-s")
    warnopts = list(sys.warnoptions)
    for implied in (("error::BytesWarning",) if f.bytes_warning > 1 else
                    ("default::BytesWarning",) if f.bytes_warning else ()) + (("default",) if f.dev_mode else ()):
        if implied in warnopts:
            warnopts.remove(implied)
    args.extend("-W" + w for w in warnopts)
    xopts = dict(getattr(sys, "_xoptions", {}))
    if f.dev_mode:
        xopts.pop("dev", None)
        args.extend(("-X", "dev"))
    for k, v in xopts.items():
        args.extend(("-X", k if v is True else "%s=%s" % (k, v)))
    return args


def _signal_name(signum):
    import signal
    try:
        return signal.Signals(signum).name
    except ValueError:
        return "SIG%d" % signum


def _wake_board_folder():
    return "/dev/shm" if os.path.isdir("/dev/shm") else (os.environ.get("TMPDIR") or "/tmp")


def make_wake_board(token):
    """The run's wake board (protocol ENV_WAKE_BOARD, see patches/mp_util.py): an empty file of
    WAKE_BOARD_SLOTS slots, only ours to read and write, in memory where the system has a tmpfs for it;
    named after this supervisor's pid (see remove_stale_wake_boards) and the run's token (no other run's,
    and unguessable). Returns its path, None if it cannot be made (then each process links only its own
    wake-ups)."""
    path = os.path.join(_wake_board_folder(), "interleave-%d-%s.wake" % (os.getpid(), token[:32]))
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError:
        return None
    try:
        import _struct
        os.ftruncate(fd, P.WAKE_BOARD_SLOTS * (_struct.calcsize(P.WAKE_SLOT_FORMAT) +
                                               _struct.calcsize(P.LOCK_SLOT_FORMAT)) +
                     P.ORDER_SLOTS * _struct.calcsize(P.ORDER_SLOT_FORMAT) +
                     P.WAIT_SLOTS * _struct.calcsize(P.WAIT_SLOT_FORMAT) +
                     P.PROC_SLOTS * _struct.calcsize(P.PROC_SLOT_FORMAT) + P.BOARD_FLAGS_SIZE)
    except OSError:
        os.close(fd)
        os.unlink(path)
        return None
    os.close(fd)
    return path


def remove_stale_wake_boards():
    """Removes the wake boards of runs whose supervisor is gone without removing its own (killed with
    SIGKILL): the pid in the name is no longer a process. A live one (or one of another user, which we
    may not signal) is left alone."""
    import re
    folder = _wake_board_folder()
    try:
        names = [e.name for e in os.scandir(folder) if e.name.startswith("interleave-")]
    except OSError:
        return
    for name in names:
        m = re.match(r"interleave-(\d+)-[0-9a-f]+\.wake$", name)
        pid = int(m.group(1)) if m else 0
        if not pid or pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
            continue
        except ProcessLookupError:
            pass
        except OSError:
            continue
        try:
            os.unlink(os.path.join(folder, name))
        except OSError:
            pass


class Setup(object):
    """What the supervisor prepares before the program exists: the signal mask (blocked before any thread
    exists, so that every thread inherits it and sigwaitinfo sees all), the collector's listening socket
    and token, the clock origin, the signal-report pipe and the program's environment. Only C modules
    until then (_signal, _socket): what only the collector needs (json, threading...) is imported while
    the program's interpreter starts."""

    def __init__(self, o):
        import _signal as signal
        self.o = o
        self.signal = signal
        self.epoch = time.monotonic_ns()
        self.start_wall = time.monotonic()
        self.sigs = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGCHLD}
        self.old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, self.sigs)
        self.token = os.urandom(32).hex()
        self.listener = listen_loopback()
        addr = "127.0.0.1:%d" % self.listener.getsockname()[1]
        env = self.env = child_env(o, addr, self.token, self.epoch)
        # Our collector reads binary frames (stream.py); a receiver of the user's never sees them.
        env[P.ENV_WIRE_ENC] = P.ENC_MARSHAL
        # The program reports the signals it receives on this pipe (see _wait).
        self.report_r, self.report_w = os.pipe()
        os.set_blocking(self.report_r, False)
        os.set_inheritable(self.report_w, True)
        env[P.ENV_SIGNAL_FD] = str(self.report_w)
        self.wake_board = make_wake_board(self.token)
        if self.wake_board:
            env[P.ENV_WAKE_BOARD] = self.wake_board

    def deadlock_exit_requested(self):
        """Whether a process of the run ended itself on a deadlock (--on-deadlock exit; the program's
        main process says so by its own exit code): its flag on the wake board (see protocol)."""
        if not self.wake_board:
            return False
        try:
            with open(self.wake_board, "rb") as f:
                f.seek(-P.BOARD_FLAGS_SIZE, os.SEEK_END)
                return bool(f.read(1)[0] & P.FLAG_DEADLOCK_EXIT)
        except (OSError, IndexError):
            return False

    def remove_wake_board(self):
        if self.wake_board:
            try:
                os.unlink(self.wake_board)
            except OSError:
                pass
            self.wake_board = None

    def spawn(self):
        """Starts the program as a new interpreter (`python [its options] script args`). Returns its pid,
        or None after printing why it could not start."""
        o = self.o
        flags = interpreter_args()
        if o.module:
            argv = [sys.executable] + flags + ["-m", o.module] + list(o.args)
        else:
            argv = [sys.executable] + flags + [o.script] + list(o.args)
        try:
            return os.posix_spawn(sys.executable, argv, self.env, setsigmask=self.old_mask)
        except OSError as e:
            self.signal.pthread_sigmask(self.signal.SIG_SETMASK, self.old_mask)
            sys.stderr.write("interleave: error: cannot start %s: %s\n" % (sys.executable, e))
            return None
        finally:
            os.close(self.report_w)

    def become_program(self):
        """In the child of launch.py's fork: this process goes on to be the program (its interpreter is
        already the program's: only its environment and signal mask are made what a spawned one gets)."""
        for fd in (self.listener.detach(), self.report_r):
            try:
                os.close(fd)
            except OSError:
                pass
        for k in [k for k in os.environ if k not in self.env]:
            del os.environ[k]
        for k, v in self.env.items():
            if os.environ.get(k) != v:
                os.environ[k] = v
        self.signal.pthread_sigmask(self.signal.SIG_SETMASK, self.old_mask)


def run(o):
    setup = Setup(o)
    child = setup.spawn()
    if child is None:
        setup.remove_wake_board()
        return 2
    ensure_bytecode()    # for the next run's processes (this one's have the bytecode or compile it)
    return supervise(setup, child)


def supervise(setup, child):
    """Collects the program's events until it (and its processes) have ended, writes or relays the
    trace; returns the exit status to end with (the program's, or it re-raises the program's signal)."""
    try:
        return _supervise(setup, child)
    finally:
        setup.remove_wake_board()


def _supervise(setup, child):
    o, signal, sigs, epoch, start_wall = setup.o, setup.signal, setup.sigs, setup.epoch, setup.start_wall
    old_mask, token, listener, report_r = setup.old_mask, setup.token, setup.listener, setup.report_r
    collector = None
    if listener is not None:
        from .collector import Collector
        collector = Collector(token, upstream=o.stream, upstream_token=os.environ.get(P.ENV_TOKEN), sock=listener,
                              keep=bool(o.output), epoch=epoch)
        collector.start()
    if o.output:
        from . import chrome  # noqa: F401  (imported while the program runs, not after it has ended)
    remove_stale_wake_boards()      # here, while the program starts: not on its way

    signal_log = []
    status = _wait(child, sigs, signal, report_r, signal_log)
    end_ts = (time.monotonic_ns() - epoch) // 1000
    wall = time.monotonic() - start_wall
    code, signum = None, None
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
    else:
        code = os.waitstatus_to_exitcode(status)
    exit_a = {"code": code}
    if signum is not None:
        exit_a["signal"] = _signal_name(signum)
        if signum == signal.SIGKILL:
            exit_a["killed"] = True
    exit_ev = {"k": "process.exit", "ph": "i", "ts": end_ts, "pid": child, "tid": child, "a": exit_a}

    if collector is not None:
        collector.wait_idle(limit=LINGER_SECONDS)
        collector.stop()
        if o.stream:
            # The live receiver also hears how the program ended (the relay only forwards the processes).
            send_exit_record(o.stream, os.environ.get(P.ENV_TOKEN, ""), exit_ev)
        if o.output:
            _write_trace(o, collector, exit_ev, child, code, signum, wall, signal_log)

    if signum is not None:
        setup.remove_wake_board()      # (this process dies of the signal next: no finally runs)
        try:
            if signum != signal.SIGKILL:
                signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            signal.pthread_sigmask(signal.SIG_SETMASK, set())
        except OSError:
            pass
        return 128 + signum
    signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    if code != P.DEADLOCK_EXIT_CODE and setup.deadlock_exit_requested():
        # A child process ended itself on a deadlock: the run ends as a deadlock of the main process
        # would (the program's own exit code stays in the trace).
        sys.stderr.write("interleave: a process of the run deadlocked (--on-deadlock exit): exit code %d\n"
                         % P.DEADLOCK_EXIT_CODE)
        return P.DEADLOCK_EXIT_CODE
    return code


def listen_loopback():
    """The collector's listening socket (loopback, any free port), made with _socket alone."""
    import _socket
    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


#: How long the supervisor waits for the program to report a signal before forwarding it (seconds).
#: The report is written by a thread of the program, which a loaded machine may not run for a while;
#: a copy forwarded because the report came late is a second signal (a second KeyboardInterrupt inside
#: the first one's clean-up: seen at 0.1 s with test suites running beside). Waiting longer only delays
#: a signal sent to the supervisor alone, and not past the program's end.
REPORT_WAIT = 0.5
#: A report counts for a signal the supervisor received if it was made at most this much earlier (s):
#: a group signal reaches both at once, but either may notice it a little before the other.
REPORT_EARLY = 0.05
#: How long reports and expected echoes are kept (seconds).
REPORT_KEEP = 1.0
#: How often the supervisor reads the report pipe while nothing happens (seconds).
DRAIN_EVERY = 0.25
_RECORD = 9   # signal number (1 byte) + CLOCK_MONOTONIC ns (8 bytes, little-endian), see boot._report_signals


class _SignalReports(object):
    """What the program says it received, and when, read from the report pipe (written by the program's
    runtime as its wakeup fd sees signals). A signal sent to the whole process group (by `timeout`,
    `kill -- -PGID`, a test harness, the editor stopping every process of the run) reaches the program
    and the supervisor alike; one sent to the supervisor alone must be forwarded. siginfo cannot tell
    them apart, the report can: the supervisor forwards only when the program has not reported the
    same signal around the same time. Its own forwarded copies are reported too, and are counted off
    as echoes so that they never stand for a later signal."""

    def __init__(self, fd):
        self.fd = fd
        self.partial = b""
        self.seen = []      # (signum, when the program got it, s): not yet matched
        self.echoes = []    # (signum, when forwarded, s): forwarded copies whose report is still to come

    def drain(self):
        while True:
            try:
                data = os.read(self.fd, 4096)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                return
            if not data:
                break
            data = self.partial + data
            cut = len(data) - len(data) % _RECORD
            self.partial = data[cut:]
            for i in range(0, cut, _RECORD):
                signum, ts = data[i], int.from_bytes(data[i + 1:i + _RECORD], "little") / 1e9
                echo = next((e for e in self.echoes if e[0] == signum and ts >= e[1]), None)
                if echo is not None:
                    self.echoes.remove(echo)
                else:
                    self.seen.append((signum, ts))
        now = time.monotonic()
        self.seen = [x for x in self.seen if now - x[1] < REPORT_KEEP]
        self.echoes = [x for x in self.echoes if now - x[1] < REPORT_KEEP]

    def received(self, signum, at, child):
        """"reported" when the program reports signum from about `at` on, within REPORT_WAIT; "exited"
        when it has ended meanwhile; else None."""
        import select
        deadline = at + REPORT_WAIT
        while True:
            self.drain()
            hit = next((x for x in self.seen if x[0] == signum and x[1] >= at - REPORT_EARLY), None)
            if hit is not None:
                self.seen.remove(hit)
                return "reported"
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if _has_exited(child):
                return "exited"      # it is gone: nothing left to forward to
            try:
                select.select([self.fd], [], [], min(left, 0.02))
            except (OSError, ValueError):
                return None

    def forwarded(self, signum):
        self.echoes.append((signum, time.monotonic()))


def _has_exited(child):
    """Whether the child has ended, without reaping it (_wait collects its status)."""
    waitid = getattr(os, "waitid", None)
    if waitid is None:
        return False
    try:
        return waitid(os.P_PID, child, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True
    except OSError:
        return False


def _wait(child, sigs, signal, report_fd=None, log=None):
    """Waits for the program, forwarding the signals sent to the supervisor; each decision on a signal
    is appended to `log` as (signum, forwarded, why) (the trace's metadata.signals)."""
    SI_KERNEL = 0x80
    reports = _SignalReports(report_fd) if report_fd is not None else None
    reportable = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT}
    while True:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid == child:
            _log_pending(sigs, signal, log)
            return status
        if reports is None:
            info = signal.sigwaitinfo(sigs)
        else:
            # Reports are read as they come (every DRAIN_EVERY at the latest), so that one the program
            # sent long ago is never taken for the report of a signal arriving now.
            info = signal.sigtimedwait(sigs, DRAIN_EVERY)
            reports.drain()
            if info is None:
                continue
        if info.si_signo == signal.SIGCHLD:
            continue
        # Kernel-sent signals (terminal Ctrl-C, hang-up) already reached the whole process group.
        if info.si_code == SI_KERNEL:
            if log is not None:
                log.append((info.si_signo, False, "sent by the kernel to the process group"))
            continue
        if reports is not None and info.si_signo in reportable:
            got = reports.received(info.si_signo, time.monotonic(), child)
            if got:
                if log is not None:
                    log.append((info.si_signo, False, "the program got it too" if got == "reported"
                                else "the program had exited"))
                continue     # sent to the group: the program has it already
            reports.forwarded(info.si_signo)
        if log is not None:
            log.append((info.si_signo, True, "sent to the supervisor alone"))
        try:
            os.kill(child, info.si_signo)
        except OSError:
            pass


def _log_pending(sigs, signal, log):
    """Signals that reached the supervisor while the program was ending (one sent to the whole process
    group kills a program that does not handle it before the supervisor has looked): not forwarded,
    and said so in the trace like every other."""
    if log is None:
        return
    while True:
        try:
            info = signal.sigtimedwait(sigs, 0)
        except (OSError, ValueError):
            return
        if info is None:
            return
        if info.si_signo != signal.SIGCHLD:
            log.append((info.si_signo, False, "the program had exited"))


def _cpu_seconds():
    try:
        import resource
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime
    except Exception:
        return None


def _write_trace(o, collector, exit_ev, child, code, signum, wall, signal_log=()):
    # The program has ended: this makes a dict or two per event and keeps them all until the file is
    # written. Collections meanwhile would only walk that growing heap again and again (a sixth of the
    # time for a 200k-event trace); this process exits right after, so the collector rests until then.
    import gc
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        _write_trace_now(o, collector, exit_ev, child, code, signum, wall, signal_log)
    finally:
        if was_enabled:
            gc.enable()


def _write_trace_now(o, collector, exit_ev, child, code, signum, wall, signal_log):
    from .chrome import write_chrome
    collector.add(exit_ev)
    events, processes = collector.merged()
    totals = {"emitted": sum(p.get("emitted", 0) for p in processes),
              "dropped": sum(p.get("dropped", 0) for p in processes)}
    for p in processes:
        if p["pid"] == child and signum is not None:
            p["killed"] = True
            p["signal"] = exit_ev["a"]["signal"]
    cpu = _cpu_seconds()
    threads = sum(1 for e in events if e["k"] == "thread.run" and e["ph"] == "b")
    summary = {"wallSeconds": round(wall, 6), "processes": len(processes), "threads": threads,
               "deadlocks": sum(1 for e in events if e["k"] == "deadlock"),
               "inversions": sum(1 for e in events if e["k"] == "lock.inversion")}
    if cpu is not None:
        summary["cpuSeconds"] = round(cpu, 6)
        summary["parallelism"] = round(cpu / wall, 3) if wall > 0 else 0
        summary["cores"] = os.cpu_count() or 1
    argv = ["-m", o.module] + list(o.args) if o.module else [o.script] + list(o.args)
    meta = {
        "mode": o.mode, "argv": argv, "python": sys.version.split()[0], "exitCode": code,
        "processes": processes, "totals": totals, "summary": summary, "program": {"pid": child},
    }
    if signum is not None:
        meta["signal"] = exit_ev["a"]["signal"]
    if signal_log:
        # What the supervisor did with each signal it received: forwarded to the program, or not
        # (the program had it already: sent to the whole process group, or by the terminal).
        meta["signals"] = [{"signal": _signal_name(n), "forwarded": f, "why": why} for n, f, why in signal_log]
    if collector.rejected:
        meta["rejectedConnections"] = collector.rejected
    try:
        write_chrome(o.output, events, meta, consume=True)     # (events go as they are written)
    except OSError as e:
        sys.stderr.write("interleave: error: cannot write %s: %s\n" % (o.output, e))


def send_exit_record(addr, token, ev):
    """--stream only: reports the program's exit on our own connection (the event carries its pid)."""
    import json
    import socket
    try:
        host, _, port = addr.rpartition(":")
        s = socket.create_connection((host, int(port)), timeout=3)
        hello = {"t": "hello", "v": P.WIRE_VERSION, "token": token, "pid": os.getpid(), "ppid": os.getppid(),
                 "name": "interleave supervisor"}
        a = ev["a"]
        batch = {"t": "batch", "seq": 0, "ev": [[P.CODES["process.exit"], "i", ev["ts"], ev["tid"], 0, 0, 0, 0, a, ev["pid"]]]}
        s.sendall((json.dumps(hello) + "\n" + json.dumps(batch) + "\n").encode())
        s.shutdown(socket.SHUT_WR)
        s.close()
    except (OSError, ValueError):
        pass
