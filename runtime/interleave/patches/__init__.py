"""Which patch module instruments which standard-library module.

Installed lazily by importhook.py when the program first imports the module (or at start when the
module is already imported). Every patch module exposes install() and uninstall(); a registered patch
module that does not exist (yet) is skipped silently.
"""

REGISTRY = {
    # R1
    "threading": "threading_",
    "_thread": "thread_",
    "queue": "queue_",
    "time": "time_",
    "signal": "signal_",
    # R2
    "os": "os_",
    "subprocess": "subprocess_",
    "multiprocessing": "multiprocessing_",
    "concurrent.futures": "concurrent_futures_",
    "asyncio": "asyncio_",
    "gevent": "gevent_",
}
