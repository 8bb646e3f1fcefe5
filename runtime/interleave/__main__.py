import sys

if __package__:
    from .cli import main
else:
    # Run by path (`python -S .../interleave/__main__.py run ...`), as the extension and the Node CLI
    # launch the supervisor: `-m` would first import runpy and importlib.util (about 9 ms of start-up).
    import os
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    from interleave.cli import main

def _exit(code):
    """Ends the supervisor without interpreter finalization: its trace is written and its relays are
    done when main() returns, and tearing down its modules and daemon threads cost 6-9 ms of every
    run's wall time. stdout/stderr are flushed first (the usage text, error lines)."""
    import os
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except Exception:
            pass
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))


if __name__ == "__main__":
    _exit(main())
