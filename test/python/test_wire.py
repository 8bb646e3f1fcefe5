"""The wire between traced processes and the supervisor: marshal frames after a JSON hello (stream.py ->
collector.py), and the supervisor's live relay to the extension host as v1 JSON lines, deflated.

In-process tests drive the real Stream client and Collector over loopback sockets; the last ones run
the real CLI with --stream to a receiver that reads what the extension host would.
"""
import enum
import json
import marshal
import os
import socket
import struct
import subprocess
import sys
import threading
import unittest
from unittest import mock

from support import LiveReceiver as Receiver, interleave_cmd, runtime_env, write_program
from interleave import collector as C
from interleave import protocol as P
from interleave import recorder as R
from interleave import stream as S

TOKEN = "k" * 64


def hello_line(pid=4242, token=TOKEN, enc=P.ENC_MARSHAL):
    h = {"t": "hello", "v": P.WIRE_VERSION, "token": token, "pid": pid, "ppid": 1, "name": "p"}
    if enc:
        h["enc"] = enc
    return (json.dumps(h) + "\n").encode()


def frame(msg):
    data = marshal.dumps(msg, 4)
    return len(data).to_bytes(4, "big") + data


class CollectorCase(unittest.TestCase):
    def collector(self, **kw):
        c = C.Collector(TOKEN, **kw)
        c.start()
        self.addCleanup(c.stop)
        return c

    def send_raw(self, c, data):
        s = socket.create_connection(("127.0.0.1", c.port))
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        s.recv(10)   # b"" once the collector has closed its end
        s.close()
        self.assertTrue(c.wait_idle(quiet=0.05, limit=10))


class FramesToCollector(CollectorCase):
    """Hand-made frames: what the collector keeps and what ends a connection."""

    def test_frames_decode_to_the_same_events_as_json_lines(self):
        batch0 = {"t": "batch", "seq": 0, "str": {"1": "/w/a.py:3"},
                  "ev": [(21, "b", 10, 7, 5, 0, 1), (22, "X", 11, 7, 5, 0, 1, 4)]}
        batch1 = {"t": "batch", "seq": 1, "ev": [(31, "i", 12, 8, 9, 77, 0, 0, {"preview": "'x'", "size": 3}),
                                                 (5, "i", 13, 4242, 0, 0, 0, 0, {"emitted": 3, "dropped": 0})]}
        c1 = self.collector()
        self.send_raw(c1, hello_line() + frame(batch0) + frame(batch1))
        c2 = self.collector()
        self.send_raw(c2, hello_line(enc=None) + (json.dumps(batch0) + "\n" + json.dumps(batch1) + "\n").encode())
        ev1, procs1 = c1.merged()
        ev2, procs2 = c2.merged()
        self.assertEqual(len(ev1), 4)
        self.assertEqual(ev1, ev2)
        self.assertEqual(ev1[0], {"k": "lock.wait", "ph": "b", "ts": 10, "pid": 4242, "tid": 7, "obj": 5,
                                  "loc": "/w/a.py:3"})
        self.assertEqual(procs1, procs2)
        self.assertEqual(procs1[0]["emitted"], 3)
        self.assertNotIn("error", procs1[0])

    def test_packed_records_decode_as_the_tuples_they_stand_for(self):
        pack = struct.Struct(P.PACKED_FORMAT).pack
        ok = {"fn": "work", "ok": True}
        tuples = [(22, "X", 11, 7, 5, 0, 1, 4), (32, "i", 12, 8, 9, 77, 1, 0), (42, "X", 13, 7, 5, 78, 0, 2, ok),
                  (42, "X", 14, 7, 5, 79, 0, 3, ok)]
        # The args dict travels once, in the batch's "args" table; packed records refer to it by id.
        packed = [pack(t[0], P.PHASES.index(t[1]), *t[2:8], 3 if len(t) > 8 else 0) for t in tuples]
        strs = {"1": "/w/a.py:3"}
        c1 = self.collector()
        self.send_raw(c1, hello_line() + frame({"t": "batch", "seq": 0, "str": strs, "args": {"3": ok}, "ev": packed[:3]})
                      + frame({"t": "batch", "seq": 1, "ev": packed[3:]}))
        c2 = self.collector()
        self.send_raw(c2, hello_line() + frame({"t": "batch", "seq": 0, "str": strs, "ev": tuples}))
        ev1, [proc1] = c1.merged()
        ev2, _ = c2.merged()
        self.assertEqual(ev1, ev2)
        self.assertEqual(ev1[0], {"k": "lock.hold", "ph": "X", "ts": 11, "pid": 4242, "tid": 7, "obj": 5,
                                  "loc": "/w/a.py:3", "dur": 4})
        self.assertEqual(ev1[1]["corr"], 77)
        self.assertEqual([e.get("a") for e in ev1], [None, None, ok, ok])
        self.assertNotIn("malformed", proc1)

    def test_a_packed_record_in_ns_is_converted_with_the_runs_epoch(self):
        pack = struct.Struct(P.PACKED_FORMAT).pack
        epoch = 5000000000
        ns = pack(22, P.PHASES.index("X") | P.PACKED_NS, epoch + 1234567, 7, 5, 0, 0, 3999, 0)
        c = self.collector(epoch=epoch)
        self.send_raw(c, hello_line() + frame({"t": "batch", "seq": 0, "ev": [ns]}))
        [ev], _ = c.merged()
        self.assertEqual((ev["ph"], ev["ts"], ev["dur"]), ("X", 1234, 3))
        self.assertEqual(C.expand_packed(ns, {}, epoch), (22, "X", 1234, 7, 5, 0, 0, 3))

    def test_a_packed_record_of_the_wrong_size_phase_or_args_is_malformed(self):
        pack = struct.Struct(P.PACKED_FORMAT).pack
        good = pack(22, 2, 11, 7, 5, 0, 0, 4, 0)
        bad_phase = pack(22, len(P.PHASES), 11, 7, 5, 0, 0, 4, 0)
        unknown_args = pack(22, 2, 11, 7, 5, 0, 0, 4, 9)
        c = self.collector()
        self.send_raw(c, hello_line() + frame({"t": "batch", "seq": 0, "args": {"1": {"x": 1}},
                                               "ev": [good, good[:-1], bad_phase, b"", unknown_args]}))
        events, [proc] = c.merged()
        self.assertEqual(len(events), 1)
        self.assertEqual(proc["malformed"], 4)

    def test_a_packed_task_start_decodes_as_the_tuple_it_stands_for(self):
        # An asyncio task's start: the packed head, parent and spawn time, then the name to the end.
        head = struct.Struct(P.PACKED_TASK_FORMAT).pack
        B, E = P.PHASES.index("b"), P.PHASES.index("e")
        task = P.KINDS["async.task"][0]
        coro = {"coro": "worker"}
        records = [head(task, B, 50, 7, 9, 9, 1, 0, 3, 4, 40) + "fetch-é".encode(),
                   head(task, B, 60, 7, 10, 10, 0, 0, 3, 0, 0) + b"Task-2"]
        tuples = [(task, "b", 50, 7, 9, 9, 1, 0, {"name": "fetch-é", "coro": "worker", "parent": 4, "spawnTs": 40}),
                  (task, "b", 60, 7, 10, 10, 0, 0, {"name": "Task-2", "coro": "worker"})]
        strs = {"1": "/w/a.py:3"}
        c1 = self.collector()
        self.send_raw(c1, hello_line() + frame({"t": "batch", "seq": 0, "str": strs, "args": {"3": coro},
                                                "ev": records}))
        c2 = self.collector()
        self.send_raw(c2, hello_line() + frame({"t": "batch", "seq": 0, "str": strs, "ev": tuples}))
        ev1, [proc1] = c1.merged()
        ev2, _ = c2.merged()
        self.assertEqual(ev1, ev2)
        self.assertEqual(ev1[0]["a"], {"name": "fetch-é", "coro": "worker", "parent": 4, "spawnTs": 40})
        self.assertNotIn("malformed", proc1)
        self.assertEqual(coro, {"coro": "worker"})      # the shared args are copied, not changed
        for r in records:
            self.assertEqual(C.decode_event(r, 42, {1: "/w/a.py:3"}, {3: coro}),
                             C.decode_event(C.expand_packed(r, {3: coro}, 0), 42, {1: "/w/a.py:3"}, {3: coro}))
        # Not a task start (another kind or phase), a name that is not UTF-8, args the table lacks, a cut head.
        bad = [head(21, B, 50, 7, 9, 9, 0, 0, 3, 0, 0) + b"x", head(task, E, 50, 7, 9, 9, 0, 0, 3, 0, 0) + b"x",
               head(task, B, 50, 7, 9, 9, 0, 0, 3, 0, 0) + b"\xff", head(task, B, 50, 7, 9, 9, 0, 0, 8, 0, 0) + b"x",
               records[0][:struct.calcsize(P.PACKED_TASK_FORMAT) - 1]]
        self.assertEqual([C.expand_packed(r, {3: coro}, 0) for r in bad], [None] * len(bad))
        self.assertEqual([C.decode_event(r, 42, {}, {3: coro}) for r in bad], [None] * len(bad))

    def test_truncated_frame_keeps_what_came_before_with_a_clear_error(self):
        good = frame({"t": "batch", "seq": 0, "ev": [(21, "b", 10, 7, 5)]})
        cut = frame({"t": "batch", "seq": 1, "ev": [(21, "e", 20, 7, 5)] * 50})
        for tail in (cut[:2], cut[:len(cut) // 2]):   # cut inside the length, inside the body
            c = self.collector()
            self.send_raw(c, hello_line() + good + tail)
            events, [proc] = c.merged()
            self.assertEqual([(e["k"], e["ph"]) for e in events], [("lock.wait", "b")])
            self.assertIn("truncated frame", proc["error"])
            self.assertIs(proc["complete"], False)

    def test_corrupt_frame_ends_the_connections_data_there(self):
        good = frame({"t": "batch", "seq": 0, "ev": [(21, "b", 10, 7, 5)]})
        bad = (9).to_bytes(4, "big") + b"\xff\x00garbage"
        later = frame({"t": "batch", "seq": 1, "ev": [(21, "e", 20, 7, 5)]})
        c = self.collector()
        self.send_raw(c, hello_line() + good + bad + later)
        events, [proc] = c.merged()
        self.assertEqual(len(events), 1)
        self.assertEqual(proc["error"], "frame is not valid marshal data")

    def test_a_frame_that_is_not_a_batch_object(self):
        c = self.collector()
        self.send_raw(c, hello_line() + frame({"t": "batch", "seq": 0, "ev": [(21, "b", 10, 7, 5)]})
                      + frame([1, 2, 3]))
        events, [proc] = c.merged()
        self.assertEqual(len(events), 1)
        self.assertEqual(proc["error"], "message is not an object")

    def test_oversized_frame_length_is_refused_without_reading_it(self):
        c = self.collector()
        self.send_raw(c, hello_line() + frame({"t": "batch", "seq": 0, "ev": [(21, "b", 10, 7, 5)]})
                      + (P.MAX_LINE_BYTES + 1).to_bytes(4, "big") + b"x" * 100)
        events, [proc] = c.merged()
        self.assertEqual(len(events), 1)
        self.assertIn("frame too long", proc["error"])

    def test_sequence_gaps_and_malformed_events_are_counted(self):
        c = self.collector()
        self.send_raw(c, hello_line()
                      + frame({"t": "batch", "seq": 0, "ev": [(21, "b", 10, 7, 5), ("junk",), (9999, "i", 1, 1)]})
                      + frame({"t": "batch", "seq": 3, "ev": [(21, "e", 20, 7, 5)]}))
        events, [proc] = c.merged()
        self.assertEqual(len(events), 2)
        self.assertEqual(proc["lostBatches"], 2)
        self.assertEqual(proc["malformed"], 2)

    def test_a_packed_record_decodes_as_its_wire_tuple_does(self):
        # decode_event takes a shortcut for packed records: it must give what the general path gives for
        # the wire tuple expand_packed makes of the same record, including None for a malformed one.
        pack = struct.Struct(P.PACKED_FORMAT).pack
        epoch = 7000000000
        args = {3: {"ok": True}, 4: {}}
        strings = {5: "prog.py:9"}
        X, B, I = P.PHASES.index("X"), P.PHASES.index("b"), P.PHASES.index("i")
        records = [pack(22, X, 11, 7, 5, 0, 5, 4, 0), pack(22, X | P.PACKED_NS, epoch + 12345, 7, 5, 0, 0, 4999, 3),
                   pack(21, B, 11, 7, 5, 8, 6, 0, 4), pack(31, I, 11, 7, 5, 8, 5, 0, 3),
                   pack(22, X, 11, -1, 5, 0, 0, 4, 0), pack(22, X, 11, 7, 5, 0, 0, -4, 0),
                   pack(11, X, 11, 7, 5, 0, 0, 4, 0), pack(250, I, 11, 7, 5, 0, 0, 0, 0), pack(22, 9, 1, 1, 1, 0, 0, 0, 0),
                   pack(22, X, 11, 7, 5, 0, 0, 4, 99)]
        for r in records:
            wire = C.expand_packed(r, args, epoch)
            expected = None if wire is None else C.decode_event(wire, 42, strings, args, epoch)
            self.assertEqual(C.decode_event(r, 42, strings, args, epoch), expected, r)
        self.assertEqual(sum(C.decode_event(r, 42, strings, args, epoch) is not None for r in records), 4)

    def test_events_are_checked_as_wire_ts_checks_them(self):
        good = [(21, "b", 1, 1), (2, "i", 1, 1, 0, 0, 0, 0, None), (2, "i", 1, 1, 0, 0, 0, 0, 0),
                (22, "X", 1.5, 1, 0, 0, 0, 2.5)]
        bad = [(21, "", 1, 1), (21, "be", 1, 1), (11, "X", 1, 1), (True, "i", 1, 1), (2, "i", True, 1),
               (2, "i", 1, True), (2, "i", 1, -1), (2, "i", 1, 1, 0, 0, 0, 0, False), (2, "i", 1, 1, 0, 0, 0, 0, []),
               (22, "X", 1, 1, 0, 0, 0, -1), (2, "i", 1, 1, 0, 0, 1.5), (2, "i", 1, 1, 0, 0, 0, 0, {}, -3),
               (2, "i", "1", 1), (2, "i", 1), (2,) * 11]
        self.assertEqual([C.decode_event(r, 5, {}) is not None for r in good], [True] * len(good))
        self.assertEqual([C.decode_event(r, 5, {}) for r in bad], [None] * len(bad))
        self.assertEqual(C.decode_event(list(good[3]), 5, {}), C.decode_event(good[3], 5, {}))

    def test_a_hello_with_an_unknown_framing_is_rejected(self):
        c = self.collector()
        self.send_raw(c, hello_line(enc="cbor") + b"\x00\x00\x00\x01x")
        self.assertEqual((c.merged(), c.rejected), (([], []), 1))

    def test_bytes_after_a_wrong_token_are_never_unmarshalled(self):
        c = self.collector()
        with mock.patch.object(C.marshal, "loads", side_effect=AssertionError("unmarshalled")) as loads:
            self.send_raw(c, hello_line(token="w" * 64) + frame({"t": "batch", "seq": 0, "ev": [(21, "b", 1, 1)]}))
            self.assertEqual(c.merged(), ([], []))
        self.assertEqual(c.rejected, 1)
        loads.assert_not_called()


class StreamThroughCollector(CollectorCase):
    """The real client (stream.Stream) in this process, sending frames to a real Collector."""

    def stream(self, c, enc=P.ENC_MARSHAL):
        with mock.patch.dict(os.environ, {P.ENV_WIRE_ENC: enc}):
            st = S.Stream(c.address, TOKEN, lambda: "unit")
        self.assertEqual(st.marshal, enc == P.ENC_MARSHAL)
        # The recorder's string table is global: start this stream past what is there already.
        st.sent_strings = len(R.string_list)
        return st

    def close(self, st, c):
        st.closed = True
        s = st.sock
        s.shutdown(socket.SHUT_WR)
        s.close()
        self.assertTrue(c.wait_idle(quiet=0.05, limit=10))

    def test_an_idle_stream_flushes_less_often_until_something_is_recorded(self):
        c = self.collector()
        st = self.stream(c)
        self.addCleanup(lambda: self.close(st, c))
        with mock.patch.object(R, "live_reporters", []), mock.patch.object(R, "_buf", []) as buf:
            self.assertIsNone(st._tick())                 # the first run connects
            periods = [st._tick() for _ in range(S.IDLE_FLUSHES + 1)]
            self.assertEqual(periods, [None] * (S.IDLE_FLUSHES - 1) + [S.IDLE_FLUSH_INTERVAL] * 2)
            buf.append((21, "b", 10, 7, 5))
            self.assertIsNone(st._tick())                 # sent: back to the usual period
            self.assertEqual(st.taken, 1)
            self.assertIsNone(st._tick())                 # (one idle flush is not a pause yet)

    def test_the_hellos_texts_are_ascii_json_strings(self):
        from interleave.stream import _json_str
        for text in ["plain", 'a "quote" and a \\ backslash', "tab\tnew\nline\x00\x7f", "é ü ☃", "𝄞 clef",
                     "lone \ud800 surrogate", ""]:
            literal = _json_str(text)
            literal.encode("ascii")
            self.assertEqual(json.loads(literal), text)

    def test_hello_announces_marshal_and_json_clients_do_not(self):
        rcv = Receiver()
        with mock.patch.dict(os.environ, {P.ENV_WIRE_ENC: P.ENC_MARSHAL}):
            a = S.Stream(rcv.addr, TOKEN, lambda: "a")
        with mock.patch.dict(os.environ, {P.ENV_WIRE_ENC: ""}):
            b = S.Stream(rcv.addr, TOKEN, lambda: "b")
        for st in (a, b):
            self.assertTrue(st._deliverable())
            st.sock.shutdown(socket.SHUT_WR)
            st.sock.close()
        rcv.finish(2)
        hellos = {h["name"]: h for h, _, _ in rcv.conns}
        self.assertEqual(hellos["a"].get("enc"), "marshal")
        self.assertNotIn("enc", hellos["b"])

    def test_events_and_strings_arrive_in_order_across_frames(self):
        for enc in (P.ENC_MARSHAL, ""):     # frames, and v1 JSON lines for any other receiver
            with self.subTest(enc=enc):
                c = self.collector()
                st = self.stream(c, enc)
                sid = R._intern("/w/unit_wire_%s.py:1" % enc)
                n = 2 * S.MAX_EVENTS_PER_LINE + 5
                chunk = [(22, "X", i, 7, 5, 0, sid, 1) for i in range(n)]
                st._send_events(chunk, n)
                self.assertEqual(st.seq, 3)   # split at MAX_EVENTS_PER_LINE
                self.close(st, c)
                events, [proc] = c.merged()
                self.assertEqual(len(events), n)
                self.assertEqual({e["loc"] for e in events}, {"/w/unit_wire_%s.py:1" % enc})
                self.assertEqual(sorted(e["ts"] for e in events), list(range(n)))
                self.assertNotIn("lostBatches", proc)
                self.assertIs(c.conns[0].frames, bool(enc))

    def test_packed_records_and_their_shared_args_arrive_through_the_real_stream(self):
        c = self.collector()
        st = self.stream(c)
        st.sent_args = len(R.arg_list)
        pack = struct.Struct(P.PACKED_FORMAT).pack
        shared = {"fn": "unit_wire_shared", "ok": True}
        aid = R.args_id(shared)
        self.assertEqual(R.args_id(shared), aid)      # interned once
        st._send_events([pack(42, R.PH_X, 1, 7, 5, 9, 0, 2, aid)], 1)
        st._send_events([pack(42, R.PH_X, 2, 7, 5, 10, 0, 3, aid), (42, "X", 3, 7, 5, 11, 0, 4, shared)], 2)
        self.close(st, c)
        frames = [marshal.loads(body) for body in c.conns[0].raw]
        self.assertEqual([f.get("args") for f in frames], [{str(aid): shared}, None])   # the table once
        events, [proc] = c.merged()
        self.assertEqual([(e["corr"], e["dur"], e["a"]) for e in events], [(9, 2, shared), (10, 3, shared), (11, 4, shared)])
        self.assertNotIn("malformed", proc)
        self.assertEqual(st.sent_args, len(R.arg_list))

    def test_a_frame_over_the_size_limit_is_split_not_refused(self):
        c = self.collector()
        st = self.stream(c)
        # distinct previews (~90 bytes each), so 400 events (~36 kB) cannot go in one 4 kB frame
        chunk = [(31, "i", i, 7, 5, i + 1, 0, 0, {"preview": "%080d" % i}) for i in range(400)]
        with mock.patch.object(P, "MAX_LINE_BYTES", 4000):
            st._send_events(chunk, len(chunk))
            self.assertGreaterEqual(st.seq, 9)
            self.close(st, c)
            events, [proc] = c.merged()
        self.assertEqual(len(events), 400)
        self.assertEqual(st.dropped, 0)
        self.assertNotIn("error", proc)

    def test_payloads_marshal_cannot_encode_are_made_plain_never_dropped(self):
        class Colour(enum.IntEnum):
            RED = 1

        class Name(str):
            pass

        class Thing(object):
            def __str__(self):
                return "Thing!"

        deep = []
        for _ in range(3000):
            deep = [deep]
        odd = [
            (31, "i", 1, 7, 5, 9, 0, 0, {"n": Colour.RED, "s": Name("x"), "o": Thing()}),
            (31, "i", 2, 7, 5, 10, 0, 0, {(1, 2): b"raw", 3: {4, 5}, "t": (1, "a")}),
            (31, "i", 3, 7, 5, 11, 0, 0, {"deep": deep}),
            (22, "X", 4, 7, 5, 0, 0, 2),
        ]
        # marshal refuses the first and third (the program side makes them plain); it carries the second
        # (the collector gives it back as JSON would have)
        for t in (odd[0], odd[2]):
            with self.assertRaises(ValueError):
                marshal.dumps(t, 4)
        c = self.collector()
        st = self.stream(c)
        st._send_events(odd, len(odd))
        self.close(st, c)
        events, _ = c.merged()
        self.assertEqual([e["ts"] for e in events], [1, 2, 3, 4])
        self.assertEqual(events[0]["a"], {"n": 1, "s": "x", "o": "Thing!"})
        self.assertIs(type(events[0]["a"]["n"]), int)
        self.assertEqual(events[1]["a"], {"(1, 2)": "b'raw'", "3": [4, 5], "t": [1, "a"]})
        self.assertIsInstance(events[2]["a"]["deep"], list)
        json.dumps(events)   # the trace writer can write every one of them

    def test_json_lines_make_odd_payloads_plain_too(self):
        # A stream to a receiver of the user's (no marshal): the same careful encoding, with json.
        class Thing(object):
            def __str__(self):
                return "Thing!"

        deep = []
        for _ in range(3000):
            deep = [deep]
        odd = [(31, "i", 1, 7, 5, 9, 0, 0, {(1, 2): Thing(), "deep": deep}), (22, "X", 2, 7, 5, 0, 0, 2)]
        rcv = Receiver()
        with mock.patch.dict(os.environ, {P.ENV_WIRE_ENC: ""}):
            st = S.Stream(rcv.addr, TOKEN, lambda: "json")
        st._send_events(odd, len(odd))
        st.sock.shutdown(socket.SHUT_WR)
        st.sock.close()
        rcv.finish(1)
        [(hello, msgs, _)] = rcv.conns
        evs = [ev for m in msgs for ev in m["ev"]]
        self.assertEqual([ev[2] for ev in evs], [1, 2])
        self.assertEqual(evs[0][8]["(1, 2)"], "Thing!")
        self.assertIsInstance(evs[0][8]["deep"], list)

    def test_receiver_gone_counts_dropped_and_never_raises(self):
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        with mock.patch.dict(os.environ, {P.ENV_WIRE_ENC: P.ENC_MARSHAL}):
            st = S.Stream("127.0.0.1:%d" % srv.getsockname()[1], TOKEN, lambda: "gone")
        self.assertTrue(st._deliverable())
        conn, _ = srv.accept()
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        conn.close()   # RST: the receiver is gone
        srv.close()
        chunk = [(22, "X", i, 7, 5, 0, 0, 1) for i in range(1000)]
        for _ in range(50):
            st._send_events(list(chunk), len(chunk))
            if st.gone:
                break
        self.assertTrue(st.gone)
        self.assertGreaterEqual(st.dropped, 1000)
        before = st.dropped
        st._send_events(list(chunk), len(chunk))
        self.assertEqual(st.dropped, before + 1000)


class RelayInProcess(CollectorCase):
    """The collector's relay: frames become v1 JSON lines for the host at once, with the host's token."""

    def relay(self, data, keep=True):
        rcv = Receiver()
        c = self.collector(upstream=rcv.addr, upstream_token="u" * 64, keep=keep)
        self.send_raw(c, data)
        rcv.finish(1)
        [(hello, msgs, _)] = rcv.conns
        return c, hello, msgs

    def test_frames_are_relayed_as_json_batches_until_a_corrupt_frame(self):
        odd = {"t": "batch", "seq": 1, "ev": [(31, "i", 2, 7, 5, 9, 0, 0, {"raw": b"\x00", (1, 2): {3}})]}
        data = (hello_line() + frame({"t": "batch", "seq": 0, "str": {"1": "/w/a.py:1"}, "ev": [(21, "b", 1, 7, 5, 0, 1)]})
                + frame(odd) + frame({"t": "other"}) + (5).to_bytes(4, "big") + b"\xffjunk"
                + frame({"t": "batch", "seq": 2, "ev": [(21, "e", 3, 7, 5)]}))
        c, hello, msgs = self.relay(data)
        self.assertEqual(hello["token"], "u" * 64)
        self.assertEqual(hello["z"], "deflate")
        self.assertNotIn("enc", hello)
        self.assertEqual(msgs, [
            {"t": "batch", "seq": 0, "str": {"1": "/w/a.py:1"}, "ev": [[21, "b", 1, 7, 5, 0, 1]]},
            {"t": "batch", "seq": 1, "ev": [[31, "i", 2, 7, 5, 9, 0, 0, {"raw": "b'\\x00'", "(1, 2)": [3]}]]},
        ])
        events, [proc] = c.merged()   # --output keeps the same, up to the corrupt frame
        self.assertEqual([e["ts"] for e in events], [1, 2])
        self.assertEqual(proc["error"], "frame is not valid marshal data")

    def test_packed_records_are_relayed_as_json_arrays(self):
        pack = struct.Struct(P.PACKED_FORMAT).pack
        c, _, msgs = self.relay(hello_line()
                                + frame({"t": "batch", "seq": 0, "args": {"2": {"ok": True}},
                                         "ev": [pack(22, P.PHASES.index("X"), 11, 7, 5, 0, 1, 4, 0), (21, "e", 3, 7, 5)]})
                                + frame({"t": "batch", "seq": 1, "ev": [pack(43, P.PHASES.index("i"), 12, 7, 5, 6, 0, 0, 2)]}))
        # The host reads v1 JSON: every event an array, its args inline (no "args" table).
        self.assertEqual(msgs, [{"t": "batch", "seq": 0, "ev": [[22, "X", 11, 7, 5, 0, 1, 4], [21, "e", 3, 7, 5]]},
                                {"t": "batch", "seq": 1, "ev": [[43, "i", 12, 7, 5, 6, 0, 0, {"ok": True}]]}])

    def test_relay_only_keeps_nothing(self):
        c, _, msgs = self.relay(hello_line() + frame({"t": "batch", "seq": 0, "ev": [(21, "b", 1, 7, 5)]}), keep=False)
        self.assertEqual(len(msgs), 1)
        self.assertEqual(c.conns[0].raw, [])


class RelayPriority(unittest.TestCase):
    """The relay runs below the program: a thread that calls run_below_the_program() gets a nice value
    RELAY_NICE higher than it had, and the process's other threads keep theirs."""

    @unittest.skipUnless(sys.platform.startswith("linux"), "a nice value per thread is Linux's")
    def test_only_the_calling_thread_is_lowered(self):
        main_before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        seen = {}

        def relay_thread():
            tid = threading.get_native_id()
            seen["before"] = os.getpriority(os.PRIO_PROCESS, tid)
            seen["returned"] = C.run_below_the_program()
            seen["after"] = os.getpriority(os.PRIO_PROCESS, tid)

        t = threading.Thread(target=relay_thread)
        t.start()
        t.join()
        expected = min(19, seen["before"] + C.RELAY_NICE)
        self.assertEqual((seen["returned"], seen["after"]), (expected, expected))
        self.assertEqual(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), main_before)


class RelayToHost(unittest.TestCase):
    PROGRAM = ("import threading, queue\nlock = threading.Lock()\nq = queue.Queue()\n"
               "for i in range(5000):\n    with lock:\n        q.put(i)\n    q.get()\nprint('end')\n")

    def run_stream(self, extra_env=None, output=None):
        rcv = Receiver()
        path = write_program(self, self.PROGRAM)
        env = runtime_env(dict({"INTERLEAVE_TOKEN": "h" * 64}, **(extra_env or {})))
        p = subprocess.run(interleave_cmd(path, mode="full", output=output, extra_options=["--stream", rcv.addr]),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=120)
        rcv.finish(2)   # the program's and the supervisor's (its exit record)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"end\n")
        self.assertEqual(p.stderr, b"")
        return rcv.conns

    def program_conn(self, conns):
        [(hello, msgs, size)] = [c for c in conns if c[0]["name"] != "interleave supervisor"]
        return hello, msgs, size

    def test_stream_alone_relays_v1_json_deflated_with_everything(self):
        conns = self.run_stream()
        hello, msgs, size = self.program_conn(conns)
        self.assertEqual(hello["token"], "h" * 64)
        self.assertEqual(hello["z"], "deflate")
        self.assertNotIn("enc", hello)
        self.assertTrue(all(m["t"] == "batch" for m in msgs))
        self.assertEqual([m["seq"] for m in msgs], list(range(len(msgs))))
        evs = [ev for m in msgs for ev in m["ev"]]
        holds = [ev for ev in evs if ev[0] == P.CODES["lock.hold"] and ev[1] in ("X", "b")]
        sends = [ev for ev in evs if ev[0] == P.CODES["msg.send"]]
        self.assertEqual((len(holds), len(sends)), (5000, 5000))
        summary = [ev for ev in evs if ev[0] == P.CODES["process.summary"]]
        self.assertEqual(summary[-1][8]["dropped"], 0)
        self.assertEqual(summary[-1][8]["emitted"], len(evs) - 1)
        # compressed well below the 40 bytes per event goal
        self.assertLess(size / len(evs), 40)
        [(sup_hello, sup_msgs, _)] = [c for c in conns if c[0]["name"] == "interleave supervisor"]
        self.assertEqual(sup_msgs[-1]["ev"][-1][0], P.CODES["process.exit"])

    def test_deflate_can_be_turned_off(self):
        conns = self.run_stream({C.ENV_STREAM_DEFLATE: "0"})
        hello, msgs, _ = self.program_conn(conns)
        self.assertNotIn("z", hello)
        evs = [ev for m in msgs for ev in m["ev"]]
        self.assertEqual(len([ev for ev in evs if ev[0] == P.CODES["msg.send"]]), 5000)


if __name__ == "__main__":
    unittest.main()
