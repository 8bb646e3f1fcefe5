"""Command line: `python -m interleave run [options] script.py [args...]` or `... run [options] -m module [args...]`.

Options (all before the script):
  -o, --output FILE          write the merged trace as Chrome Trace JSON (default: trace.json unless --stream)
  --stream HOST:PORT         stream live to a receiver; the token comes from INTERLEAVE_TOKEN
  --mode default|full        default: count uncontended operations beyond a per-object budget; full: record all
  --deadlock-timeout SECONDS report a deadlock when every live thread is blocked this long (default 5; 0 = off)
  --cpu-interval MS          per-thread CPU sampling interval (default 10; 0 = off; 100 while the
                             program stays idle)
  --on-deadlock report|exit  exit: end the run with exit code 86 after reporting a deadlock

Exit status: the program's own (or the same signal it died of); 2 for a bad invocation; 86 when the
deadlock watchdog ended the run (--on-deadlock exit).

CLI steps return (ok, value-or-message); only main() prints and exits.
"""
import os
import sys

from .protocol import DEADLOCK_EXIT_CODE

USAGE = ("usage: python -m interleave run [--output FILE] [--stream HOST:PORT] [--mode default|full] "
         "[--deadlock-timeout S] [--cpu-interval MS] [--on-deadlock report|exit] (script.py | -m module) [args...]")

_VALUE_OPTS = {"-o": "output", "--output": "output", "--stream": "stream", "--mode": "mode",
               "--deadlock-timeout": "deadlock_timeout", "--cpu-interval": "cpu_interval",
               "--on-deadlock": "on_deadlock"}


class Options(object):
    def __init__(self):
        self.output = None
        self.stream = None
        self.mode = "default"
        self.deadlock_timeout = 5.0
        self.cpu_interval = 10.0
        self.on_deadlock = "report"
        self.script = None
        self.module = None
        self.args = []


def parse(argv):
    """argv after `run`. Returns (True, Options) or (False, message)."""
    o = Options()
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "-m":
            if i + 1 >= len(argv):
                return False, "-m needs a module name"
            o.module = argv[i + 1]
            o.args = argv[i + 2:]
            break
        if a == "--":
            if i + 1 >= len(argv):
                return False, "no script given"
            o.script = argv[i + 1]
            o.args = argv[i + 2:]
            break
        if a.startswith("-") and a != "-":
            name, eq, value = a.partition("=")
            key = _VALUE_OPTS.get(name)
            if key is None:
                return False, "unknown option %s" % name
            if not eq:
                if i + 1 >= len(argv):
                    return False, "option %s needs a value" % name
                value = argv[i + 1]
                i += 1
            ok, msg = _set(o, key, name, value)
            if not ok:
                return False, msg
            i += 1
            continue
        o.script = a
        o.args = argv[i + 1:]
        break
    if o.script is None and o.module is None:
        return False, "no script given"
    if o.script is not None and o.script != "-" and not os.path.isfile(o.script):
        return False, "script not found: %s" % o.script
    if o.stream is None and o.output is None:
        o.output = "trace.json"
    return True, o


def _set(o, key, name, value):
    if key == "mode":
        if value not in ("default", "full"):
            return False, "--mode must be default or full, not %r" % value
    elif key == "on_deadlock":
        if value not in ("report", "exit"):
            return False, "--on-deadlock must be report or exit, not %r" % value
    elif key in ("deadlock_timeout", "cpu_interval"):
        try:
            v = float(value)
        except ValueError:
            return False, "%s needs a number, not %r" % (name, value)
        if v < 0 or v != v:
            return False, "%s must not be negative" % name
        value = v
    elif key == "stream":
        host, sep, port = value.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            return False, "--stream needs HOST:PORT, not %r" % value
        if not os.environ.get("INTERLEAVE_TOKEN"):
            return False, "--stream needs the receiver's token in INTERLEAVE_TOKEN"
    elif key == "output":
        d = os.path.dirname(os.path.abspath(value))
        if not os.path.isdir(d):
            return False, "output folder does not exist: %s" % d
    setattr(o, key, value)
    return True, None


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if sys.version_info < (3, 9):
        sys.stderr.write("interleave: error: Python 3.9 or newer is needed (this is %d.%d)\n" % sys.version_info[:2])
        return 2
    if not argv or argv[0] in ("-h", "--help", "help"):
        (sys.stdout if argv else sys.stderr).write(USAGE + "\n")
        return 0 if argv else 2
    if argv[0] != "run":
        sys.stderr.write("interleave: error: unknown command %r (expected: run)\n" % argv[0])
        return 2
    if argv[1:2] and argv[1] in ("-h", "--help"):
        # `run --help` before any script: the options (a -h after the script is the program's own).
        sys.stdout.write(USAGE + "\n\n" + __doc__.split("\n\n", 1)[1].split("\n\nCLI steps")[0] + "\n")
        return 0
    ok, value = parse(argv[1:])
    if not ok:
        sys.stderr.write("interleave: error: %s\n" % value)
        return 2
    from . import supervisor
    return supervisor.run(value)


__all__ = ["main", "parse", "DEADLOCK_EXIT_CODE"]
