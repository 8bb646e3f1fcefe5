"""The runtime's own descriptors (the recorder's socket, the CPU sampler's schedstat files) sit at high
numbers, close-on-exec, out of the way of programs that manage descriptors: the program's first open()
gets 3, as in a plain run."""
import json
import unittest

from support import run_plain, trace_script, write_program

FDS = r'''
import json, os, time

def fds():
    out = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            out[int(name)] = os.readlink("/proc/self/fd/" + name)
        except OSError:
            pass   # the directory descriptor listdir used, closed already
    return out

# Bounded wait for the runtime to have opened its descriptors (its socket connects when the flusher
# starts; the CPU sampler keeps none open); a plain run has none and stops at once.
deadline = time.monotonic() + (20 if os.environ.get("INTERLEAVE_TOKEN") else 0)
while True:
    cur = fds()
    have = any(v.startswith("socket:") for v in cur.values())
    if have or time.monotonic() >= deadline:
        break
    time.sleep(0.01)
first = os.open(os.devnull, os.O_RDONLY)
print(json.dumps({"first": first, "fds": {str(k): v for k, v in cur.items() if k > 2 and "/fd" not in v}}))
'''


class RuntimeDescriptorsAreHigh(unittest.TestCase):
    def test_runtime_fds_are_out_of_the_programs_range(self):
        path = write_program(self, FDS)
        plain = json.loads(run_plain(path).stdout)
        r = trace_script(path)
        self.assertEqual(r.returncode, 0, r)
        traced = json.loads(r.stdout)
        self.assertEqual(traced["first"], plain["first"])
        self.assertEqual(traced["first"], 3)
        kinds = {v.split(":")[0] if v.startswith("socket:") else ("schedstat" if "schedstat" in v else v)
                 for v in traced["fds"].values()}
        self.assertIn("socket", kinds, traced)
        self.assertNotIn("schedstat", kinds, traced)   # the sampler reads thread clocks, not files
        low = {fd: v for fd, v in traced["fds"].items() if int(fd) < 900}
        self.assertEqual(low, {}, "runtime descriptors at low numbers: %r" % traced)


if __name__ == "__main__":
    unittest.main()
