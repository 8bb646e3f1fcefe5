"""Instruments time.sleep: a `thread.sleep` interval for sleeps called from user code.

Sleeps inside the standard library (subprocess polling, multiprocessing back-off) are internals, not
what the program asked for, so they are left out; sleep(0) (a yield) is counted, not recorded.
"""
import sys
import time

from .. import recorder as rec

_orig_sleep = None
_get_frame = sys._getframe


def sleep(seconds):
    try:
        record = rec._active and rec._classify(_get_frame(1).f_code.co_filename) == rec._USER
    except Exception:
        record = False
    if not record:
        return _orig_sleep(seconds)
    try:
        s = float(seconds)
    except Exception:
        return _orig_sleep(seconds)  # let time.sleep raise its own TypeError
    if s <= 0:
        rec.count(0, "sleep")
        return _orig_sleep(seconds)
    rec.emit("thread.sleep", "b", loc=rec.user_loc(1), a={"seconds": s})
    try:
        return _orig_sleep(seconds)
    finally:
        rec.emit("thread.sleep", "e")


def install():
    global _orig_sleep
    if _orig_sleep is None:
        _orig_sleep = time.sleep
        time.sleep = sleep


def uninstall():
    global _orig_sleep
    if _orig_sleep is not None:
        time.sleep = _orig_sleep
        _orig_sleep = None
