"""Installs each patch when the program first imports the module it instruments.

A meta-path finder that only answers for the names in patches.REGISTRY: it lets the normal finders
find the module, wraps the loader so that the patch is installed right after the module's code ran,
and restores the original loader on the module (so __loader__/__spec__ look as without us).
Modules already imported when the recorder starts are patched at once.
"""
import sys

from .patches import REGISTRY

_installed = {}   # module name -> patch module
_debug = False


def _report(what):
    if _debug:
        import traceback
        sys.stderr.write("interleave: %s failed:\n" % what)
        traceback.print_exc()


def install_patch(name):
    """Imports and installs the patch for module `name`; tolerates a missing patch module."""
    if name in _installed:
        return _installed[name]
    patch_name = REGISTRY.get(name)
    if patch_name is None:
        return None
    _installed[name] = None
    try:
        import importlib
        mod = importlib.import_module("interleave.patches." + patch_name)
    except ImportError as e:
        if getattr(e, "name", "") not in ("interleave.patches." + patch_name,):
            _report("importing the %s patch" % name)
        return None
    except Exception:
        _report("importing the %s patch" % name)
        return None
    try:
        from . import recorder
        with recorder.in_runtime():
            mod.install()
        _installed[name] = mod
    except Exception:
        _report("installing the %s patch" % name)
    return mod


def uninstall_all():
    for name, mod in list(_installed.items()):
        if mod is not None:
            try:
                mod.uninstall()
            except Exception:
                _report("uninstalling the %s patch" % name)
        del _installed[name]


class AfterExecLoader(object):
    """Wraps a module's loader so that `after(module)` runs right after the module's code ran, and puts
    the original loader back on the module (so __loader__/__spec__ look as without us)."""

    def __init__(self, loader, after):
        self._loader = loader
        self._after = after

    def create_module(self, spec):
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module):
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.loader is self:
            spec.loader = self._loader
        if getattr(module, "__loader__", None) is self:
            module.__loader__ = self._loader
        self._loader.exec_module(module)
        self._after(module)

    def __getattr__(self, attr):
        return getattr(self._loader, attr)


def find_spec_then(finder, fullname, path, target, after):
    """Lets the normal finders (not ours: they carry `_interleave_finder`) find `fullname`, and wraps the
    loader found so that `after(module)` runs once the module is executed. Used by every finder of the
    runtime (patches here, lazily patched submodules in patches/mp_util.py)."""
    for other in sys.meta_path:
        if other is finder or getattr(other, "_interleave_finder", False):
            continue
        find = getattr(other, "find_spec", None)
        if find is None:
            continue
        try:
            spec = find(fullname, path, target)
        except Exception:
            continue
        if spec is not None:
            if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                spec.loader = AfterExecLoader(spec.loader, after)
            return spec
    return None


class PatchFinder(object):
    """Answers only for registered names; everything else goes to the normal finders."""
    _interleave_finder = True

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in REGISTRY or fullname in _installed:
            return None
        return find_spec_then(self, fullname, path, target, lambda module: install_patch(fullname))

    def invalidate_caches(self):
        pass


def install(debug=False):
    """Patches modules already imported, then watches for the others."""
    global _debug
    _debug = debug
    # Order matters: time and _thread before threading (threading binds their functions).
    for name in ("time", "_thread", "threading", "os"):
        if name in sys.modules:
            install_patch(name)
    for name in list(REGISTRY):
        if name in sys.modules:
            install_patch(name)
    if not any(isinstance(f, PatchFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, PatchFinder())
