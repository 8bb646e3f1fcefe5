"""Launch by fork: the launched interpreter becomes the supervisor, its fork child the program.

The extension and the Node CLI run `python script.py args` themselves, with PYTHONPATH starting at
_boot/ and INTERLEAVE_LAUNCH holding the `run` options (protocol ENV_LAUNCH). The _boot sitecustomize
calls fork_supervisor() while the interpreter is still starting (site has run; no thread exists yet):
- the child returns and goes on starting up: it is the program, in the very interpreter that was
  launched for it (argv, flags, sys.path, __main__ exactly those of the plain run), with the recorder
  booted next by the same sitecustomize;
- the parent never returns: it supervises (supervisor.supervise: collector, signal forwarding, the
  trace) and ends with the program's exit status, or dies of the program's signal.

Why: `python -S -m interleave run script.py` starts two interpreters one after the other; the second,
the program's, cannot begin before the first has started, imported the supervisor and spawned it
(13 ms here). A fork at this point costs about a millisecond. The `python -m interleave run` command
keeps the spawn (supervisor.run): it is what a user types, and it cannot choose the program's
interpreter options for itself.
"""
import os
import sys

from . import protocol as P


def _program_argv():
    """What follows the interpreter's own options on its command line: [script, args...],
    ["-m", module, args...], ["-c", code, args...] or ["-", args...]. (recorder.orig_argv reads the
    command line the same way, but importing the recorder here, before the fork, would fix its clock
    origin before the supervisor has chosen it.)"""
    argv = getattr(sys, "orig_argv", None)
    if not argv:
        try:
            with open("/proc/self/cmdline", "rb") as f:
                argv = [os.fsdecode(a) for a in f.read().split(b"\0")[:-1]]
        except OSError:
            argv = [sys.executable] + list(sys.argv)
    i = 1
    while i < len(argv):
        x = argv[i]
        if x in ("-m", "-c"):
            return argv[i:]
        if x == "-" or not x.startswith("-"):
            return argv[i:]
        if x in ("-X", "-W", "--check-hash-based-pycs"):
            i += 1
        i += 1
    return ["-"]


def _fail(message):
    sys.stderr.write("interleave: error: %s\n" % message)
    sys.stderr.flush()
    os._exit(2)


def fork_supervisor():
    """Returns in the program (the fork child); never returns in the supervisor."""
    spec = os.environ.pop(P.ENV_LAUNCH, "")
    if sys.version_info < (3, 9):
        _fail("Python 3.9 or newer is needed (this is %d.%d)" % sys.version_info[:2])
    from . import cli, supervisor
    ok, o = cli.parse([a for a in spec.split(P.LAUNCH_SEPARATOR) if a] + ["--", "-"])
    if not ok:
        _fail(o)
    prog = _program_argv()
    if prog[0] == "-m" and len(prog) > 1:
        o.script, o.module, o.args = None, prog[1], prog[2:]
    else:
        o.script, o.args = prog[0], prog[1:]
        if o.script not in ("-", "-c") and not os.path.isfile(o.script):
            _fail("script not found: %s" % o.script)     # what `interleave run` says, before any fork
    setup = supervisor.Setup(o)
    try:
        pid = os.fork()
    except OSError as e:
        setup.remove_wake_board()
        _fail("cannot start the program: %s" % e)
    if pid == 0:
        setup.become_program()
        return
    code = 1
    try:
        os.close(setup.report_w)
        supervisor.ensure_bytecode()     # for the next run's processes
        code = supervisor.supervise(setup, pid)
    finally:
        for f in (sys.stdout, sys.stderr):
            try:
                f.flush()
            except Exception:
                pass
        # Not sys.exit: this is still the interpreter's start-up (inside site), and nothing of the
        # program's may run here: no atexit, no finalization (see __main__._exit).
        os._exit(code if isinstance(code, int) else 1)
