"""Chrome Trace Event JSON writer, following protocol/chrome.ts `toChrome` and protocol/flows.ts.

Events here are dicts shaped like the protocol's TraceEvent: {k, ph, ts, pid, tid, dur?, obj?, corr?,
loc?, a?}. Intervals become X slices (b/e pairs merged, unclosed ones marked `unfinished`), instants
`i` with s:"t", counters `C`, links `s`/`f` flow pairs, names `M` records. `traceEvents` is written
first so a truncated file can be repaired by readers.
"""
import json
import os

from . import protocol as P


def kind_codes():
    return dict(P.CODES)


def _lane_key(ev):
    o = P.lane_obj(ev["k"], ev.get("obj"), ev.get("a"))
    return (ev["pid"], ev["tid"], o)


def link_group(group):
    """Links of one correlation group, as flows.ts linkGroup."""
    roles = []
    for ev in group:
        r = P.flow_role(ev["k"], ev["ph"], ev.get("corr"))
        if r is not None:
            roles.append((ev, r))
    roles.sort(key=lambda x: (x[0]["ts"], 1 if x[1] == "dst" else 0))
    links = []
    current = None
    for ev, role in roles:
        if role in ("src", "fanout"):
            current = (ev, role)
            continue
        if current is not None and _lane_key(current[0]) != _lane_key(ev):
            links.append((current[0], ev))
        if current is not None and current[1] != "fanout":
            current = None
    return links


def links_at_both_ends(ev):
    """As flows.ts linksAtBothEnds: an X of a kind whose begin and end both link (a pool task)."""
    if ev["ph"] != "X" or not ev.get("corr"):
        return False
    flow = P.KINDS[ev["k"]][3]
    return "b" in flow and "e" in flow


def flow_points(ev):
    """As flows.ts flowPoints: such an X takes part in links as its begin and its end."""
    if not links_at_both_ends(ev):
        return (ev,)
    b = dict(ev, ph="b")
    b.pop("dur", None)
    e = dict(b, ph="e", ts=ev["ts"] + (ev.get("dur") or 0))
    return (b, e)


def link_all(events):
    groups = {}
    for ev0 in events:
        c = ev0.get("corr")
        if c:
            g = groups.get(c)
            if g is None:
                g = groups[c] = []
            if ev0["ph"] == "X" and links_at_both_ends(ev0):
                g.extend(flow_points(ev0))
            else:
                g.append(ev0)
    out = []
    for g in groups.values():
        if len(g) == 2:
            link = _link_pair(g[0], g[1])
            if link is not None:
                out.append(link)
        elif len(g) > 2:
            out.extend(link_group(g))
    return out


_SOURCES = ("src", "fanout")


def _link_pair(x, y):
    """link_group of a two-event group (nearly every group: a message, a task's spawn and start), without
    its sort: the pair in link_group's order (time, then sources first, stable), linked when a source
    comes first, a destination second, on different lanes."""
    rx = P.flow_role(x["k"], x["ph"], x.get("corr"))
    ry = P.flow_role(y["k"], y["ph"], y.get("corr"))
    if rx is None or ry is None:
        return None
    kx = (x["ts"], 1 if rx == "dst" else 0)
    ky = (y["ts"], 1 if ry == "dst" else 0)
    if ky < kx:
        x, y, rx, ry = y, x, ry, rx
    if rx in _SOURCES and ry not in _SOURCES and _lane_key(x) != _lane_key(y):
        return (x, y)
    return None


_CATS = P.CATS
_LABELS = P.LABELS


def _chrome_of(ev, extra=None):
    # Runs for every event of a trace being written: plain dict operations, each field read once.
    k = ev["k"]
    ph = ev["ph"]
    get = ev.get
    if ph == "C":
        values = {key: v for key, v in (get("a") or {}).items()
                  if isinstance(v, (int, float)) and not isinstance(v, bool)}
        name = "%s %d" % (k, ev["tid"]) if k == "cpu.thread" else k
        return {"name": name, "cat": _CATS[k], "ph": "C", "ts": ev["ts"], "pid": ev["pid"], "tid": ev["tid"],
                "args": values}
    a = get("a")
    args = dict(a) if a else {}
    if extra:
        args.update(extra)
    args["k"] = k
    v = get("obj")
    if v:
        args["obj"] = v
    v = get("corr")
    if v:
        args["corr"] = v
    v = get("loc")
    if v:
        args["loc"] = v
    c = {"name": _LABELS[k], "cat": _CATS[k], "ph": ph, "ts": ev["ts"], "pid": ev["pid"], "tid": ev["tid"]}
    if ph == "X":
        c["dur"] = get("dur", 0)
    elif ph == "i":
        c["s"] = "t"
    c["args"] = args
    return c


def producer_mark():
    """First record of every file: a file cut off before its metadata is still known as ours."""
    return {"name": "interleave", "ph": "M", "ts": 0, "pid": 0, "tid": 0,
            "args": {"producer": P.PRODUCER, "formatVersion": P.FORMAT_VERSION}}


def to_chrome(events, meta=None):
    """events: TraceEvent dicts in time order. Returns the Chrome trace dict."""
    return {"traceEvents": list(chrome_records(events)), "metadata": chrome_metadata(meta)}


def chrome_metadata(meta=None):
    metadata = dict(meta or {})
    metadata.update({"producer": P.PRODUCER, "formatVersion": P.FORMAT_VERSION, "kinds": kind_codes()})
    return metadata


def chrome_records(events, consume=False):
    """The Chrome records of events (TraceEvent dicts in time order), one at a time, in the order
    to_chrome lists them. consume=True: each entry of the list is dropped (set to None) once converted,
    so that a large trace is not held twice, as events and as records (the writer's peak memory); only
    the begins still waiting for their ends, and what the links need, stay. Why a generator: the
    writer encodes each record as it comes instead of building the whole list first."""
    yield producer_mark()
    last_ts = 0
    for ev in events:
        end = ev["ts"] + (ev.get("dur") or 0)
        if end > last_ts:
            last_ts = end
    # The links first, each kept as the two ends' (ts, pid, tid): the events themselves can then go.
    flows = [(P.CATS[src["k"]], src["ts"], src["pid"], src["tid"], dst["ts"], dst["pid"], dst["tid"])
             for src, dst in link_all(events)]
    open_ = {}
    names = {}
    for i, ev in enumerate(events):
        if consume:
            events[i] = None
        k = ev["k"]
        ph = ev["ph"]
        a = ev.get("a")
        if (k == "thread.name" or (k == "thread.run" and ph == "b")) and a and isinstance(a.get("name"), str):
            names[("t", ev["pid"], ev["tid"])] = a["name"]
        if k == "process.start" and a and isinstance(a.get("name"), str):
            names[("p", ev["pid"], ev["pid"])] = a["name"]
        if ph == "b":
            open_.setdefault((ev["pid"], ev["tid"], k, ev.get("obj") or 0), []).append(ev)
            continue
        if ph == "e":
            stack = open_.get((ev["pid"], ev["tid"], k, ev.get("obj") or 0))
            begin = stack.pop() if stack else None
            start = begin or ev
            merged = dict(start)
            merged["ph"] = "X"
            merged["dur"] = max(0, ev["ts"] - start["ts"])
            ma = dict((begin or {}).get("a") or {})
            ma.update(ev.get("a") or {})
            if ma:
                merged["a"] = ma
            # The begin's corr stays `corr`; the end's (a join, a result) travels as `ecorr` (chrome.ts).
            if begin is None or not begin.get("corr"):
                merged.pop("corr", None)
            yield _chrome_of(merged, {"ecorr": ev["corr"]} if ev.get("corr") else None)
            continue
        # An X that links at both ends carries its corr as `ecorr` too (as chrome.ts toChrome).
        yield _chrome_of(ev, {"ecorr": ev["corr"]} if ph == "X" and links_at_both_ends(ev) else None)
    for stack in open_.values():
        for begin in stack:
            merged = dict(begin)
            merged["ph"] = "X"
            merged["dur"] = max(0, last_ts - begin["ts"])
            yield _chrome_of(merged, {"unfinished": True})
    open_ = None
    flow_id = 1
    for cat, sts, spid, stid, dts, dpid, dtid in flows:
        yield {"name": "link", "cat": cat, "ph": "s", "id": flow_id, "ts": sts, "pid": spid, "tid": stid}
        yield {"name": "link", "cat": cat, "ph": "f", "bp": "e", "id": flow_id, "ts": dts, "pid": dpid, "tid": dtid}
        flow_id += 1
    for (kind, pid, tid), name in names.items():
        if kind == "p":
            yield {"name": "process_name", "ph": "M", "ts": 0, "pid": pid, "tid": pid, "args": {"name": name}}
        else:
            yield {"name": "thread_name", "ph": "M", "ts": 0, "pid": pid, "tid": tid, "args": {"name": name}}


def _line_encoder():
    """ev -> one line of compact JSON, as json.dumps(ev, separators=(",", ":"), default=str).

    json.dumps with options builds an encoder per call, and even one JSONEncoder's encode() builds
    its C encoder again on every call: that was most of the time spent writing a large trace (about
    5 us of 7 per event). The C encoder json itself uses is made once here; JSONEncoder where the
    interpreter lacks it."""
    from json import encoder as E
    make = getattr(E, "c_make_encoder", None)
    if make is not None:
        try:
            c = make(None, str, E.encode_basestring_ascii, None, ":", ",", False, False, True)
            join = "".join

            def one(ev):
                return join(c(ev, 0))
            if one({"a": [1, "\u00e9", None, 0.5]}) == '{"a":[1,"\\u00e9",null,0.5]}':
                return one
        except Exception:
            pass
    return json.JSONEncoder(separators=(",", ":"), default=str, check_circular=False).encode


def write_chrome(path, events, meta=None, consume=False):
    """Writes atomically (temp file + rename): a reader never sees a half-written trace. Each record is
    encoded as it is made (see chrome_records; consume=True lets the events go as they are written)."""
    tmp = "%s.tmp-%d" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as f:
        # traceEvents first, one event per line: readable, and repairable if ever cut short.
        f.write('{"traceEvents": [\n')
        enc = _line_encoder()
        chunk = []
        first = True
        for rec in chrome_records(events, consume):
            chunk.append(enc(rec))
            if len(chunk) >= 20000:
                f.write(("" if first else ",\n") + ",\n".join(chunk))
                first = False
                chunk = []
        if chunk:
            f.write(("" if first else ",\n") + ",\n".join(chunk))
        f.write('\n],\n"metadata": ')
        f.write(json.dumps(chrome_metadata(meta), default=str))
        f.write("}\n")
    os.replace(tmp, path)


# ---- reading our own files back (tests, tools) --------------------------------------------------------
_RESERVED = ("k", "obj", "corr", "ecorr", "loc", "unfinished")


def read_chrome(path):
    """Returns (events, metadata) for a trace we wrote, as chrome.ts readChrome does for our files."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    events = []
    for c in data.get("traceEvents", []):
        ph = c.get("ph")
        args = c.get("args") or {}
        if ph in ("s", "f", "t", "M"):
            continue
        if ph == "C":
            name = str(c.get("name", ""))
            kname, _, tid_text = name.partition(" ")
            if kname in ("cpu.thread", "cpu.process"):
                events.append({"k": kname, "ph": "C", "ts": c["ts"], "pid": c["pid"],
                               "tid": int(tid_text) if tid_text else c["tid"], "a": dict(args)})
            continue
        k = args.get("k")
        if k not in P.KINDS:
            continue
        phases = P.KINDS[k][2]
        ph = "i" if ph == "I" else ph
        split = ph == "X" and ("b" in phases and "e" in phases) and ("X" not in phases or "ecorr" in args)
        ev = {"k": k, "ph": "b" if split else ph, "ts": c["ts"], "pid": c["pid"], "tid": c["tid"]}
        if ph == "X" and not split:
            ev["dur"] = c.get("dur", 0)
        for key in ("obj", "corr", "loc"):
            if key in args:
                ev[key] = args[key]
        a = {key: v for key, v in args.items() if key not in _RESERVED}
        if args.get("unfinished") is True:
            a["unfinished"] = True
        if a:
            ev["a"] = a
        events.append(ev)
        if split:
            # As chrome.ts splitInterval: the end (appended right after its begin) carries the end's corr.
            end = {"k": k, "ph": "e", "ts": c["ts"] + c.get("dur", 0), "pid": c["pid"], "tid": c["tid"]}
            if "obj" in args:
                end["obj"] = args["obj"]
            if "ecorr" in args:
                end["corr"] = args["ecorr"]
            events.append(end)
    return events, data.get("metadata") or {}
