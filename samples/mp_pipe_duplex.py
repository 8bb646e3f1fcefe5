"""multiprocessing.Pipe (duplex): ping/pong between a parent and one child.

What it does: Pipe() returns two connected ends; each end can both send and
receive. The parent sends "ping 0".."ping 2"; the child answers each with
"pong N"; then the parent sends None to tell the child to stop. Every message
waits for its answer, so the printed order is fixed.

What the Interleave timeline should show:
  * the parent and one child process lane;
  * six message arrows alternating direction: parent -> child (ping),
    child -> parent (pong), plus a final parent -> child stop message;
  * each side blocked in recv() while the other works.
"""
import multiprocessing
import time


def ponger(conn):
    while True:
        message = conn.recv()
        if message is None:  # the stop signal
            break
        print(f"child got {message!r}", flush=True)
        time.sleep(0.02)  # think a little before answering
        conn.send(message.replace("ping", "pong"))
    conn.close()


def main():
    parent_end, child_end = multiprocessing.Pipe()  # duplex=True is the default
    child = multiprocessing.Process(target=ponger, args=(child_end,))
    child.start()
    for i in range(3):
        parent_end.send(f"ping {i}")
        print(f"parent got {parent_end.recv()!r}", flush=True)
    parent_end.send(None)
    child.join()
    print(f"child exit code: {child.exitcode}")


if __name__ == "__main__":
    main()
