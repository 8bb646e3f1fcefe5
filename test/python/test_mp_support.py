"""Helpers shared by R2's runtime tests (processes, IPC, pools, asyncio, gevent). No tests here."""


def spans(r, k, **where):
    """Intervals of kind k, one dict each, whatever phases carried them: an 'X', or a 'b'/'e' pair
    (paired per pid, tid, obj as a stack) merged into the 'b' with `dur`, the `e` fields in `a`, and the
    corr of either end (the ending corr under 'ecorr'). Unfinished intervals get dur None."""
    out = []
    open_ = {}
    evs = sorted(r.of(k), key=lambda e: (e["ts"], 0 if e["ph"] in ("b", "X") else 1))
    for e in evs:
        key = (e["pid"], e["tid"], e.get("obj"))
        if e["ph"] == "X":
            s = dict(e)
            s["a"] = dict(e.get("a") or {})
            if e.get("corr"):
                s["ecorr"] = e["corr"]
            out.append(s)
        elif e["ph"] == "b":
            s = dict(e)
            s["a"] = dict(e.get("a") or {})
            s["dur"] = None
            open_.setdefault(key, []).append(s)
            out.append(s)
        elif e["ph"] == "e":
            stack = open_.get(key)
            if not stack:
                continue
            s = stack.pop()
            s["dur"] = e["ts"] - s["ts"]
            s["a"].update(e.get("a") or {})
            if e.get("corr"):
                s["ecorr"] = e["corr"]
                s.setdefault("corr", e["corr"])
    res = []
    for s in out:
        a = s["a"]
        if all(s.get(f, a.get(f)) == v for f, v in where.items()):
            res.append(s)
    return res


def program_pid(r):
    return r.metadata["program"]["pid"]
