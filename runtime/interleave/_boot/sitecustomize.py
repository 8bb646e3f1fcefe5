"""Boots the Interleave recorder in every Python process of a traced run, then gets out of the way.

The supervisor puts this folder first on PYTHONPATH. When INTERLEAVE_TOKEN is set we start the
recorder (when INTERLEAVE_LAUNCH is set, this process first forks off its supervisor: launch.py); then we remove this folder from sys.path (so the program sees the sys.path it would see
without us) and run whichever sitecustomize the path would otherwise have provided.
"""
import os as _os
import sys as _sys


def _interleave_boot():
    here = _os.path.dirname(_os.path.abspath(__file__))
    runtime_dir = _os.path.dirname(_os.path.dirname(here))
    for i, p in enumerate(_sys.path):
        if p and _os.path.abspath(p) == here:
            del _sys.path[i]
            break
    launch = _os.environ.get("INTERLEAVE_LAUNCH") is not None
    if launch or (_os.environ.get("INTERLEAVE_TOKEN") and _os.environ.get("INTERLEAVE_STREAM")):
        added = runtime_dir not in _sys.path
        if added:
            _sys.path.insert(0, runtime_dir)
        try:
            if launch:
                # Launched by the extension or the Node CLI: this process forks here; the parent
                # supervises and never comes back, the child is the program (interleave/launch.py).
                from interleave import launch as _launch
                _launch.fork_supervisor()
            from interleave import boot
            boot.boot()
        except Exception:
            if _os.environ.get("INTERLEAVE_DEBUG"):
                import traceback
                traceback.print_exc()
        finally:
            if added:
                try:
                    _sys.path.remove(runtime_dir)
                except ValueError:
                    pass
    # Chain to the sitecustomize this interpreter would have used without us.
    try:
        # The path finder importlib.machinery exports, from the frozen module the interpreter has
        # already loaded (importing importlib.machinery costs half a millisecond of every start).
        ext = _sys.modules.get("_frozen_importlib_external")
        if ext is not None:
            PathFinder = ext.PathFinder
        else:
            from importlib.machinery import PathFinder
        spec = PathFinder.find_spec("sitecustomize", _sys.path)
        if spec is not None and spec.loader is not None and spec.origin != __file__:
            import importlib.util
            mod = importlib.util.module_from_spec(spec)
            _sys.modules["sitecustomize"] = mod
            spec.loader.exec_module(mod)
    except Exception:
        if _os.environ.get("INTERLEAVE_DEBUG"):
            import traceback
            traceback.print_exc()


_interleave_boot()
del _interleave_boot
