"""The pipe deadlock the subprocess documentation warns about: wait() on a child whose output nobody reads.

WARNING: this program never finishes on its own. Stop it with Ctrl-C (or the
Stop button); that is the point of the sample. The fix: read the output while
the child runs, or let communicate() do it (out, _ = child.communicate()).

What it does: it starts a child Python program that prints 200,000 characters
to its stdout, a pipe (stdout=PIPE) to this program. A pipe holds about 64 KiB:
once it is full, the child's write blocks until someone reads. This program
calls child.wait() before reading anything, so it waits for the child to end,
and the child waits for it to read: neither ever goes on. ("This will deadlock
when using stdout=PIPE or stderr=PIPE and the child process generates enough
output to a pipe such that it blocks waiting for the OS pipe buffer to accept
more data." -- the Popen.wait documentation.)

What the Interleave timeline should show:
  * the child's process lane, with the stdout pipe from the child to the parent;
  * the parent's main thread waiting for the child, to the end;
  * a deadlock report: the parent in Popen.wait(), the child blocked writing to
    its stdout, and why (a full pipe that nothing reads).
"""
import subprocess
import sys

CHILD = "import sys; sys.stdout.write('x' * 200_000); sys.stdout.flush()"

if __name__ == "__main__":
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE)
    print("parent: started the child, waiting for it to end before reading its output", flush=True)
    child.wait()                 # never returns: the child blocks on the full pipe
    print("parent: child ended, read", len(child.stdout.read()), "bytes")
