import sys

if __package__:
    from .cli import main
else:
    # Run by path (`python -S .../interleave/__main__.py run ...`), as the extension and the Node CLI
    # launch the supervisor: `-m` would first import runpy and importlib.util (about 9 ms of start-up).
    import os
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    from interleave.cli import main

sys.exit(main())
