"""What a program started by subprocess is blocked on, read from Linux's /proc: the deadlock watchdog's
view of an external child, which has no recorder of its own.

Why: the pipe deadlocks the subprocess documentation warns about are between this process and a program
it started. `p.wait()` while the child fills a stdout pipe nobody reads, or a child reading a stdin that
this process never closes, leave this process in a wait and the child in a read or write of a pipe whose
other end this process holds. A child that is merely slow (sleeping, computing, waiting for the network)
is blocked on something else, and is not a deadlock. The kernel tells them apart: /proc/PID/task/TID/syscall
gives the system call a blocked thread is in and its first argument (the fd), /proc/PID/fd/FD which pipe
that fd is. Where /proc is missing or unreadable nothing is known, and nothing is reported.
"""
import os

#: read-like and write-like system calls on a pipe, by machine (os.uname().machine): number -> op.
#: (pread/pwrite fail on a pipe, so they never block on one.)
SYSCALLS = {
    "x86_64": {0: "read", 1: "write", 19: "read", 20: "write"},
    "aarch64": {63: "read", 64: "write", 65: "read", 66: "write"},
    "i686": {3: "read", 4: "write", 145: "read", 146: "write"},
    "i386": {3: "read", 4: "write", 145: "read", 146: "write"},
    "armv7l": {3: "read", 4: "write", 145: "read", 146: "write"},
}
_machine = None


def _syscalls():
    global _machine
    if _machine is None:
        try:
            _machine = os.uname().machine
        except Exception:
            _machine = ""
    return SYSCALLS.get(_machine, {})


def parse_syscall(line, table):
    """(op, fd) of a /proc/.../syscall line for a thread blocked in a read or write, else None ("running",
    a thread between system calls, any other call)."""
    parts = line.split()
    if len(parts) < 2:
        return None
    try:
        op = table.get(int(parts[0]))
        fd = int(parts[1], 16)
    except ValueError:
        return None
    if op is None or fd < 0:
        return None
    return op, fd


def pipe_inode(link):
    """The inode of a /proc/.../fd link's target "pipe:[N]", else None."""
    if link.startswith("pipe:[") and link.endswith("]"):
        try:
            return int(link[6:-1])
        except ValueError:
            return None
    return None


def _read(path):
    with open(path, "r") as f:
        return f.read()


def thread_pipe_op(pid, tid, read=_read, readlink=os.readlink):
    """(op, pipe inode) when thread tid of process pid is blocked reading or writing a pipe; (None, None)
    when it is blocked in any other system call; None when it runs (or /proc does not say)."""
    try:
        line = read("/proc/%d/task/%d/syscall" % (pid, tid))
        if line.startswith("running"):
            return None
        found = parse_syscall(line, _syscalls())
        if found is None:
            return None if len(line.split()) < 2 else (None, None)
        return found[0], pipe_inode(readlink("/proc/%d/fd/%d" % (pid, found[1])))
    except (OSError, ValueError):
        return None


def process_waits(pid, read=_read, readlink=os.readlink, listdir=os.listdir):
    """{tid: (op, pipe inode)} of every thread of process pid (see thread_pipe_op) when none of them
    runs, else None (one running, or no /proc)."""
    try:
        tids = [int(t) for t in listdir("/proc/%d/task" % pid)]
    except (OSError, ValueError):
        return None
    out = {}
    for tid in tids:
        w = thread_pipe_op(pid, tid, read, readlink)
        if w is None:
            return None
        out[tid] = w
    return out or None


def inode_of(f):
    """The inode of an open pipe file object's fd, else None (closed, or not a file)."""
    try:
        if f is None or f.closed:
            return None
        return os.fstat(f.fileno()).st_ino
    except (OSError, ValueError, AttributeError):
        return None


def our_ends(popen):
    """{pipe inode: the child's stream name} of the pipes to a Popen's child whose end in this process is
    still open: only those can make the child wait for this process."""
    out = {}
    for name in ("stdin", "stdout", "stderr"):
        ino = inode_of(getattr(popen, name, None))
        if ino is not None:
            out[ino] = name
    return out


def blocked_on_us(pid, waits, ends):
    """Whether the child (pid, its threads' waits from process_waits) cannot go on without this process:
    its main thread is blocked on a pipe to this process whose end here is open, in the direction only
    this process can serve (a read of its stdin: this process holds the write end; a write to its stdout
    or stderr: this process holds the read end), and none of its threads runs or reads or writes any
    other pipe (the rest wait on locks or timers: a traced Python child's recorder threads, or the
    child's own waits). Returns [(op, stream)] of its threads blocked on this process, main thread
    first, or None."""
    if not waits or pid not in waits:
        return None
    out = []
    for tid in [pid] + sorted(t for t in waits if t != pid):
        op, ino = waits[tid]
        if op is None:
            if tid == pid:
                return None
            continue
        stream = ends.get(ino)
        if stream is None or (op == "read") != (stream == "stdin"):
            return None
        out.append((op, stream))
    return out


def hint(name, pid, ops, our_wait):
    """Why the child and this process wait for each other, and what to do instead. our_wait: "wait" (in
    Popen.wait()), or the stream this process reads or writes."""
    op, stream = ops[0]
    who = 'the child "%s" (pid %d)' % (name, pid)
    if our_wait == "wait":
        here = "this process waits for it to end (Popen.wait())"
    elif our_wait == "stdin":
        here = "this process is blocked writing to its stdin, which the child does not read meanwhile"
    else:
        here = "this process is blocked reading its %s" % our_wait
    if op == "read":
        return ("%s is blocked reading its stdin, whose write end this process keeps open, while %s: "
                "the child waits for more input or for the end of it, which only closing p.stdin gives "
                "(or use communicate(input), which writes the input, closes stdin and reads the output)"
                % (who, here))
    return ("%s is blocked writing to its %s: the pipe is full and nothing reads it, while %s "
            "(read the output as it comes, or use communicate(), which reads stdout and stderr while it "
            "waits)" % (who, stream, here))
