"""Pipe deadlocks between the program and a child it started by subprocess (the ones the subprocess
documentation warns about): found from what the child is blocked on in /proc, told apart from a child
that is only slow, and reported with the child's side and why."""
import os
import unittest

from support import trace_script, write_program, require_sample
from interleave import childwait
from interleave.protocol import DEADLOCK_EXIT_CODE

EXIT_QUICKLY = ["--deadlock-timeout", "0.3", "--on-deadlock", "exit"]
HAS_PROC = os.path.exists("/proc/self/task/%d/syscall" % os.getpid())

STDIN_NEVER_CLOSED = r'''
import subprocess
p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
p.stdin.write(b"hello\n")
p.stdin.flush()
p.wait()
print("unreachable")
'''

READ_WHILE_CHILD_READS = r'''
import subprocess
p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
p.stdin.write(b"hello\n")
p.stdin.flush()
print(p.stdout.read())
'''

BOTH_PIPES_FULL = r'''
import subprocess
p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
p.stdin.write(b"x" * 1_000_000)
p.stdin.close()
print(len(p.stdout.read()))
'''

# Two threads stuck on the same child: one waits for it to end, one feeds it input it does not read.
TWO_THREADS_ONE_CHILD = r'''
import subprocess, threading
p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
def feed():
    p.stdin.write(b"x" * 1_000_000)
threading.Thread(target=feed, name="feeder").start()
p.wait()
'''

# Waits of the same shapes on children that are slow, not stuck: never reported.
SLOW_CHILDREN = r'''
import subprocess
p = subprocess.Popen(["sleep", "1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
p.wait()
p.stdin.close()
p.stdout.close()
p = subprocess.Popen(["sh", "-c", "read x; sleep 1; echo $x"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
p.stdin.write(b"hi\n")
p.stdin.close()
print(p.stdout.read())
p.wait()
out, _ = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE).communicate(b"x" * 1_000_000)
print(len(out))
'''


def only_deadlock(testcase, r):
    testcase.assertEqual(r.returncode, DEADLOCK_EXIT_CODE, r)
    [d] = r.of("deadlock")
    testcase.assertEqual(d["a"]["reason"], "all-blocked")
    return d


@unittest.skipUnless(HAS_PROC, "needs Linux's /proc/PID/task/TID/syscall")
class SubprocessPipeDeadlockTest(unittest.TestCase):
    def child_of(self, r):
        [spawn] = r.of("process.spawn", method="subprocess")
        return spawn["a"]["child"]

    def test_the_sample_wait_before_reading_a_full_pipe(self):
        r = trace_script(require_sample(self, "subprocess_pipe_deadlock.py"), extra_options=EXIT_QUICKLY)
        d = only_deadlock(self, r)
        main, child = d["a"]["threads"]
        kid = self.child_of(r)
        self.assertEqual((main["pid"], main["waitType"], main["waitingForProcess"]), (d["pid"], "subprocess", kid))
        self.assertTrue(main["stack"][0].endswith("in <module>"), main["stack"])
        self.assertEqual((child["pid"], child["waitType"], child["waitingForProcess"]),
                         (kid, "pipe write (stdout)", d["pid"]))
        self.assertIn("blocked writing to its stdout: the pipe is full and nothing reads it", d["a"]["hint"])
        self.assertIn("Popen.wait()", d["a"]["hint"])
        self.assertIn("waits for pipe write (stdout)", r.stderr)
        self.assertIn("parent: started the child", r.stdout)
        # The stdout pipe from the child to the parent is on the timeline.
        self.assertEqual(len(r.of("chan.create", type="os.pipe", writer=kid, reader=d["pid"])), 1)

    def test_waiting_for_a_child_that_reads_a_stdin_never_closed(self):
        r = trace_script(write_program(self, STDIN_NEVER_CLOSED), extra_options=EXIT_QUICKLY)
        d = only_deadlock(self, r)
        main, child = d["a"]["threads"]
        self.assertEqual(child["pid"], self.child_of(r))
        self.assertEqual((main["waitingForProcess"], child["waitType"]), (child["pid"], "pipe read (stdin)"))
        self.assertIn('the child "cat" (pid %d) is blocked reading its stdin' % child["pid"], d["a"]["hint"])
        self.assertIn("closing p.stdin", d["a"]["hint"])
        self.assertNotIn("unreachable", r.stdout)

    def test_reading_the_output_of_a_child_that_waits_for_more_input(self):
        # The parent is blocked in the kernel (a C read of p.stdout): seen from /proc, not from its stack.
        r = trace_script(write_program(self, READ_WHILE_CHILD_READS), extra_options=EXIT_QUICKLY)
        d = only_deadlock(self, r)
        main, child = d["a"]["threads"]
        self.assertEqual((main["waitType"], child["waitType"]), ("subprocess", "pipe read (stdin)"))
        self.assertIn("this process is blocked reading its stdout", d["a"]["hint"])

    def test_both_pipes_full(self):
        # The parent writes more than cat's stdin pipe holds, cat echoes into a stdout pipe nobody reads.
        r = trace_script(write_program(self, BOTH_PIPES_FULL), extra_options=EXIT_QUICKLY)
        d = only_deadlock(self, r)
        main, child = d["a"]["threads"]
        self.assertEqual(child["waitType"], "pipe write (stdout)")
        self.assertIn("this process is blocked writing to its stdin", d["a"]["hint"])

    def test_two_threads_stuck_on_one_child_name_it_once(self):
        r = trace_script(write_program(self, TWO_THREADS_ONE_CHILD), extra_options=EXIT_QUICKLY)
        d = only_deadlock(self, r)
        child = self.child_of(r)
        waits = sorted((t["name"], t["waitType"], t["waitingForProcess"]) for t in d["a"]["threads"])
        self.assertEqual(waits, [("MainThread", "subprocess", child), ("cat", "pipe write (stdout)", d["pid"]),
                                 ("feeder", "subprocess", child)])

    def test_slow_children_are_not_deadlocks(self):
        r = trace_script(write_program(self, SLOW_CHILDREN), extra_options=EXIT_QUICKLY)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.of("deadlock"), [])
        self.assertEqual(r.stdout.split(), ["b'hi\\n'", "1000000"])


class ChildWaitParsingTest(unittest.TestCase):
    """childwait's reading of /proc, on given texts (the same on every machine)."""
    TABLE = childwait.SYSCALLS["x86_64"]

    def test_syscall_lines(self):
        self.assertEqual(childwait.parse_syscall("0 0x3 0x7ffd 0x10000 0x0 0x0 0x0 0x7ffd 0x7f", self.TABLE),
                         ("read", 3))
        self.assertEqual(childwait.parse_syscall("1 0x1 0x55 0x30d40 0x0 0x0 0x0 0x7ffd 0x7f", self.TABLE),
                         ("write", 1))
        self.assertEqual(childwait.parse_syscall("20 0xa 0x55 0x2", self.TABLE), ("write", 10))
        self.assertIsNone(childwait.parse_syscall("230 0x0 0x0 0x7ffd", self.TABLE))     # clock_nanosleep
        self.assertIsNone(childwait.parse_syscall("running", self.TABLE))
        self.assertIsNone(childwait.parse_syscall("-1 0x7ffd 0x7f", self.TABLE))
        self.assertIsNone(childwait.parse_syscall("0 zz", self.TABLE))

    def test_pipe_links(self):
        self.assertEqual(childwait.pipe_inode("pipe:[123456]"), 123456)
        self.assertIsNone(childwait.pipe_inode("/dev/pts/0"))
        self.assertIsNone(childwait.pipe_inode("socket:[99]"))
        self.assertIsNone(childwait.pipe_inode("pipe:[x]"))

    def waits(self, files, links, tids):
        def read(path):
            if path not in files:
                raise FileNotFoundError(path)
            return files[path]
        return childwait.process_waits(50, read=read, readlink=lambda p: links[p], listdir=lambda p: tids)

    def test_blocked_on_this_process_only_through_our_open_ends(self):
        if os.uname().machine not in childwait.SYSCALLS:
            self.skipTest("no system call table for this machine")
        nr = {op: n for n, op in sorted(childwait.SYSCALLS[os.uname().machine].items(), reverse=True)}
        files = {"/proc/50/task/50/syscall": "%d 0x1 0x0" % nr["write"],
                 "/proc/50/task/51/syscall": "202 0x0 0x0"}     # another call (a futex): a waiting thread
        links = {"/proc/50/fd/1": "pipe:[7]"}
        waits = self.waits(files, links, ["50", "51"])
        self.assertEqual(waits, {50: ("write", 7), 51: (None, None)})
        self.assertEqual(childwait.blocked_on_us(50, waits, {7: "stdout"}), [("write", "stdout")])
        # Our read end closed (or not ours): the child does not wait for us.
        self.assertIsNone(childwait.blocked_on_us(50, waits, {}))
        # A write to what is our child's stdin pipe would be the wrong direction.
        self.assertIsNone(childwait.blocked_on_us(50, waits, {7: "stdin"}))
        # The main thread blocked on anything but a pipe to us: not stuck on us.
        self.assertIsNone(childwait.blocked_on_us(50, {50: (None, None)}, {7: "stdout"}))
        # A thread running: nothing is known.
        files["/proc/50/task/51/syscall"] = "running"
        self.assertIsNone(self.waits(files, links, ["50", "51"]))
        # No /proc for it (ended, or another system).
        self.assertIsNone(self.waits({}, {}, ["50"]))

    def test_hints_say_which_side_waits_for_what(self):
        h = childwait.hint("cat", 9, [("read", "stdin")], "wait")
        self.assertIn('the child "cat" (pid 9) is blocked reading its stdin', h)
        self.assertIn("Popen.wait()", h)
        h = childwait.hint("gen", 9, [("write", "stderr")], "stdout")
        self.assertIn("blocked writing to its stderr", h)
        self.assertIn("this process is blocked reading its stdout", h)


if __name__ == "__main__":
    unittest.main()
