"""subprocess: Popen children, traced or external, their exits and the pipes that connect them.

Python children started with the inherited environment boot the recorder themselves (sitecustomize)
and report `process.start` with the corr we set through rec.spawn_context. Any other program is an
external process: we report its start (pid = the child's pid, external: true) and, when the parent
learns it (wait/poll/communicate), its exit. Every PIPE becomes an 'os.pipe' channel whose `writer`
and `reader` name the processes at its ends; a pipe handed from one child's stdout to another's stdin
(`ls -l | wc -l` built from two Popens) is one channel from the first child to the second. Data the
parent itself sends or receives through communicate() are msg.send/msg.recv on those channels.
"""
import os
import re
import sys
import weakref

from interleave import recorder as rec
from interleave.patches.mp_util import Patches, before_fork, exit_args_from_returncode, signal_name

_patches = Patches()
_pipes = {}            # (st_dev, st_ino) of a pipe -> channel obj
#: Children with a pipe to this process, for the deadlock watchdog (deadlock._subprocess_wait: what the
#: child is blocked on, from /proc; a traced child's watchdog cannot see a pipe its program writes).
#: Weak: keeping a Popen alive would change when the program's own Popen objects are collected (and the
#: ResourceWarning of one still running).
piped_children = weakref.WeakSet()
os.register_at_fork(after_in_child=piped_children.clear)     # a fork child's children are its own
_PY_NAME = re.compile(r"^(python|pypy)(\d+(\.\d+)?)?(-dbg)?$")


def _argv_of(args, shell):
    if isinstance(args, (str, bytes, os.PathLike)):
        a = [os.fsdecode(args) if not isinstance(args, str) else args]
        return ["/bin/sh", "-c"] + a if shell else a
    try:
        return [os.fsdecode(x) if isinstance(x, (bytes, os.PathLike)) else str(x) for x in args]
    except Exception:
        return [rec.preview(args)]


def _is_traced_python(argv, executable, env):
    """Will this child boot the recorder itself? (A Python interpreter with our environment.)"""
    exe = executable or (argv[0] if argv else "")
    try:
        exe = os.fsdecode(exe)
    except Exception:
        return False
    name = os.path.basename(exe)
    same = False
    try:
        same = os.path.realpath(exe) == os.path.realpath(sys.executable)
    except Exception:
        pass
    if not (same or _PY_NAME.match(name)):
        return False
    if any(x in ("-I", "-E", "-S") for x in argv[1:3]):
        return False
    e = os.environ if env is None else env
    try:
        return bool(e.get("INTERLEAVE_TOKEN")) and bool(e.get("INTERLEAVE_STREAM"))
    except Exception:
        return False


def _pipe_key(f):
    try:
        fd = f if isinstance(f, int) else f.fileno()
        st = os.fstat(fd)
        import stat
        if stat.S_ISFIFO(st.st_mode):
            return (st.st_dev, st.st_ino)
    except Exception:
        pass
    return None


def _chan(key, name, writer, reader, loc):
    obj = rec.new_id()
    if key is not None:
        _pipes[key] = obj
    rec.emit("chan.create", "i", obj=obj, loc=loc,
             a={"type": "os.pipe", "name": name, "writer": writer, "reader": reader})
    return obj


# Positions in Popen._execute_child(self, args, executable, preexec_fn, close_fds, pass_fds, cwd, env,
# startupinfo, creationflags, shell, p2cread, ...) (the same from 3.9 to 3.13 on POSIX). We wrap it rather
# than Popen.__init__ so that warnings raised in __init__ (EncodingWarning...) still point at the caller.
_ARGS, _EXECUTABLE, _ENV, _SHELL, _P2CREAD = 0, 1, 6, 9, 10


def _wrap_execute_child(orig):
    def _execute_child(self, *args, **kwargs):
        if not rec.active() or rec.is_in_runtime() or len(args) <= _P2CREAD:
            return orig(self, *args, **kwargs)
        corr = rec.new_id()
        loc = rec.user_loc()
        args = list(args)
        env = args[_ENV]
        if env is not None:
            try:
                if "INTERLEAVE_TOKEN" in env:
                    # An explicit environment copied from ours: link the child's start the same way.
                    env = dict(env)
                    env["INTERLEAVE_PARENT_CORR"] = str(corr)
                    args[_ENV] = env
            except Exception:
                pass
        upstream = None
        p2cread = args[_P2CREAD]
        if isinstance(p2cread, int) and p2cread >= 0:
            upstream = _pipes.get(_pipe_key(p2cread))
        before_fork()
        with rec.spawn_context(corr):
            orig(self, *args, **kwargs)
        try:
            _after_start(self, args[_ARGS], args[_SHELL], args[_EXECUTABLE], env, corr, loc, upstream)
        except Exception:
            pass
    return _execute_child


def _after_start(self, args, shell, executable, env, corr, loc, upstream):
    pid = self.pid
    me = os.getpid()
    argv = _argv_of(args, shell)
    name = os.path.basename(argv[0]) if argv else str(pid)
    self._il = {"corr": corr, "name": name, "exit": 0, "chans": {}}
    rec.emit("process.spawn", "i", corr=corr, loc=loc, a={"child": pid, "method": "subprocess", "argv": argv})
    if not _is_traced_python(argv, executable, env):
        rec.emit("process.start", "i", corr=corr, pid=pid, tid=pid,
                 a={"ppid": me, "name": name, "argv": argv, "method": "subprocess", "external": True})
    if self.stdin is not None or self.stdout is not None or self.stderr is not None:
        piped_children.add(self)
    chans = self._il["chans"]
    if self.stdin is not None:
        chans["stdin"] = _chan(_pipe_key(self.stdin), "%s stdin" % name, me, pid, loc)
    if self.stdout is not None:
        chans["stdout"] = _chan(_pipe_key(self.stdout), "%s stdout" % name, pid, me, loc)
        _chan_info[chans["stdout"]] = (pid, name)
    if self.stderr is not None:
        chans["stderr"] = _chan(_pipe_key(self.stderr), "%s stderr" % name, pid, me, loc)
    if upstream is not None:
        # stdin is another child's stdout pipe: the channel now runs from that child to this one.
        writer = _writer_of(upstream)
        rec.emit("chan.create", "i", obj=upstream, loc=loc,
                 a={"type": "os.pipe", "name": "%s | %s" % (_name_of(upstream), name), "writer": writer,
                    "reader": pid})


_chan_info = {}      # channel obj -> (writer pid, writer name), for pipelines


def _writer_of(obj):
    return _chan_info.get(obj, (0, "?"))[0]


def _name_of(obj):
    return _chan_info.get(obj, (0, "?"))[1]


def _report_exit(self):
    """process.exit for the child as its parent saw it (once); returns the corr for the join."""
    info = self.__dict__.get("_il")
    if info is None or self.returncode is None:
        return 0
    if info["exit"]:
        return info["exit"]
    corr = rec.new_id()
    info["exit"] = corr
    rec.emit("process.exit", "i", corr=corr, pid=self.pid, tid=self.pid,
             a=exit_args_from_returncode(self.returncode))
    return corr


def _wrap_handle_exitstatus(orig):
    def _handle_exitstatus(self, *args, **kwargs):
        r = orig(self, *args, **kwargs)
        try:
            if rec.active():
                _report_exit(self)
        except Exception:
            pass
        return r
    return _handle_exitstatus


def _wrap_join(orig, op):
    def wrapper(self, *args, **kwargs):
        info = self.__dict__.get("_il")
        if info is None or info.get("joining") or not rec.active() or rec.is_in_runtime() \
                or self.returncode is not None and op == "wait":
            return orig(self, *args, **kwargs)
        info["joining"] = True
        loc = rec.user_loc()
        rec.emit("process.join", "b", loc=loc, a={"child": self.pid})
        if op == "communicate":
            _sent(self, info, args, kwargs, loc)
        try:
            result = orig(self, *args, **kwargs)
        except BaseException:
            info["joining"] = False
            rec.emit("process.join", "e", a={"child": self.pid})
            raise
        info["joining"] = False
        try:
            if op == "communicate":
                _received(self, info, result, loc)
            corr = _report_exit(self)
        except Exception:
            corr = 0
        rec.emit("process.join", "e", corr=corr, a={"child": self.pid})
        return result
    wrapper.__doc__ = orig.__doc__
    wrapper.__name__ = orig.__name__
    return wrapper


def _size_and_preview(data):
    try:
        return len(data), rec.preview(data)
    except Exception:
        return 0, "?"


def _sent(self, info, args, kwargs, loc):
    data = args[0] if args else kwargs.get("input")
    chan = info["chans"].get("stdin")
    if data is None or not chan:
        return
    size, preview = _size_and_preview(data)
    corr = rec.new_id()
    ts = rec.now()
    rec.emit("msg.send", "i", obj=chan, corr=corr, loc=loc, ts=ts, a={"preview": preview, "size": size})
    rec.emit("msg.recv", "i", obj=chan, corr=corr, ts=ts + 1, pid=self.pid, tid=self.pid, a={"size": size})


def _received(self, info, result, loc):
    if not isinstance(result, tuple):
        return
    ts = rec.now()
    for stream, data in zip(("stdout", "stderr"), result):
        chan = info["chans"].get(stream)
        if data is None or not chan or len(data) == 0:
            continue
        size, preview = _size_and_preview(data)
        corr = rec.new_id()
        # The child wrote it before we read it all; we only know it happened by now.
        rec.emit("msg.send", "i", obj=chan, corr=corr, ts=ts - 1, pid=self.pid, tid=self.pid,
                 a={"preview": preview, "size": size})
        rec.emit("msg.recv", "i", obj=chan, corr=corr, loc=loc, ts=ts, a={"preview": preview, "size": size})


def _wrap_send_signal(orig):
    def send_signal(self, sig):
        try:
            if rec.active() and not rec.is_in_runtime() and self.returncode is None and "_il" in self.__dict__:
                rec.emit("process.signal", "i", loc=rec.user_loc(), a={"child": self.pid, "signal": signal_name(sig)})
        except Exception:
            pass
        return orig(self, sig)
    send_signal.__doc__ = orig.__doc__
    return send_signal


def install():
    if _patches:
        return
    import subprocess
    P = subprocess.Popen
    if "_execute_child" not in P.__dict__:
        return
    _patches.set(P, "_execute_child", _wrap_execute_child(P.__dict__["_execute_child"]))
    if "_handle_exitstatus" in P.__dict__:
        _patches.set(P, "_handle_exitstatus", _wrap_handle_exitstatus(P.__dict__["_handle_exitstatus"]))
    _patches.set(P, "wait", _wrap_join(P.__dict__["wait"], "wait"))
    _patches.set(P, "communicate", _wrap_join(P.__dict__["communicate"], "communicate"))
    if "send_signal" in P.__dict__:
        _patches.set(P, "send_signal", _wrap_send_signal(P.__dict__["send_signal"]))


def uninstall():
    _patches.restore()
