"""subprocess under the tracer: external programs as processes with their exit codes, Python children
traced themselves, pipes as 'os.pipe' channels (ls -l | wc -l: one channel from ls to wc), the parent's
communicate() data as messages, waits as joins."""
import sys
import unittest

from support import assert_complete, require_sample, trace_script, write_program
from test_mp_support import spans


class SubprocessSample(unittest.TestCase):
    r = None

    def setUp(self):
        if SubprocessSample.r is None:
            SubprocessSample.r = trace_script(require_sample(self, "subprocess_demo.py"))
        self.r = SubprocessSample.r
        self.assertEqual(self.r.returncode, 0, self.r)

    def spawned(self):
        return {e["a"]["child"]: e for e in self.r.of("process.spawn", method="subprocess")}

    def test_output_unchanged(self):
        self.assertIn("echo exited with 0", self.r.stdout)
        self.assertIn("SHOUT THIS PLEASE", self.r.stdout)

    def test_external_programs_are_processes(self):
        spawned = self.spawned()
        self.assertEqual(len(spawned), 5)          # echo, ls, python, ls, wc
        external = {e["pid"]: e for e in self.r.of("process.start", external=True)}
        names = sorted(e["a"]["name"] for e in external.values())
        self.assertEqual(names, ["echo", "ls", "ls", "wc"])
        for pid, start in external.items():
            self.assertIn(pid, spawned)
            self.assertEqual(start.get("corr"), spawned[pid]["corr"])    # spawn -> start arrow
            self.assertEqual(start["a"]["ppid"], spawned[pid]["pid"])
            exits = [e for e in self.r.of("process.exit") if e["pid"] == pid]
            self.assertEqual([e["a"]["code"] for e in exits], [0], exits)
            joins = [e for e in spans(self.r, "process.join") if e["a"]["child"] == pid]
            self.assertTrue(any(j.get("ecorr") == exits[0]["corr"] for j in joins), joins)

    def test_python_child_is_traced_itself(self):
        spawned = self.spawned()
        py = [pid for pid, e in spawned.items() if "python" in " ".join(e["a"]["argv"][:1]) or
              e["a"]["argv"][0] == sys.executable]
        self.assertEqual(len(py), 1, spawned)
        starts = [e for e in self.r.of("process.start") if e["pid"] == py[0]]
        self.assertEqual(len(starts), 1, starts)
        self.assertFalse(starts[0]["a"].get("external"))
        self.assertEqual(starts[0].get("corr"), spawned[py[0]]["corr"])
        summaries = [p for p in self.r.metadata["processes"] if p["pid"] == py[0]]
        self.assertEqual(len(summaries), 1)   # it streamed its own events

    def test_pipeline_joined_by_a_pipe(self):
        spawned = self.spawned()
        by_name = {}
        for e in self.r.of("process.start", external=True):
            by_name.setdefault(e["a"]["name"], []).append(e["pid"])
        ls2, wc = max(by_name["ls"]), by_name["wc"][0]
        pipes = [e for e in self.r.of("chan.create", type="os.pipe")
                 if e["a"]["writer"] == ls2 and e["a"]["reader"] == wc]
        self.assertEqual(len(pipes), 1, self.r.of("chan.create"))
        self.assertIn(ls2, spawned)

    def test_communicate_data_as_messages(self):
        sends = {e["corr"]: e for e in self.r.of("msg.send")}
        recvs = {e["corr"]: e for e in self.r.of("msg.recv")}
        shouts = [e for e in sends.values() if "shout this please" in e["a"]["preview"]]
        self.assertEqual(len(shouts), 1)
        self.assertEqual(shouts[0]["a"]["size"], len("shout this please"))
        answer = [e for e in recvs.values() if "SHOUT THIS PLEASE" in e["a"].get("preview", "")]
        self.assertEqual(len(answer), 1)
        self.assertNotEqual(sends[answer[0]["corr"]]["pid"], answer[0]["pid"])   # child -> parent

    def test_nothing_lost(self):
        assert_complete(self, self.r)


FAILING = r'''
import subprocess, sys
p = subprocess.Popen(["sh", "-c", "exit 5"])
print("code", p.wait())
q = subprocess.Popen(["sleep", "30"])
q.terminate()
print("term", q.wait())
r = subprocess.run([sys.executable, "-c", "import sys; sys.exit(4)"])
print("py", r.returncode)
'''


class ExitCodesAndSignals(unittest.TestCase):
    def test_codes_signals_and_python_child(self):
        r = trace_script(write_program(self, FAILING))
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("code 5", r.stdout)
        self.assertIn("term -15", r.stdout)
        self.assertIn("py 4", r.stdout)
        spawned = [e["a"]["child"] for e in r.of("process.spawn", method="subprocess")]
        self.assertEqual(len(spawned), 3)
        sh, sleeper, py = spawned
        code = lambda pid: [e["a"] for e in r.of("process.exit") if e["pid"] == pid and e.get("corr")]
        self.assertEqual(code(sh)[0]["code"], 5)
        self.assertEqual(code(sleeper)[0]["signal"], "SIGTERM")
        self.assertEqual(code(py)[0]["code"], 4)
        self.assertEqual([e["a"] for e in r.of("process.signal")], [{"child": sleeper, "signal": "SIGTERM"}])
        assert_complete(self, r)


if __name__ == "__main__":
    unittest.main()
