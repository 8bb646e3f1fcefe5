"""multiprocessing.Queue: a writer process and a reader process, then terminate().

What it does: the writer puts five items on a shared Queue and exits. The
reader loops forever, like a server, printing each item it gets; it never
exits on its own. The parent joins the writer, waits until the reader has
reported all five items (through an Event, so nothing is cut off), and then
stops the reader with terminate(). A terminated process has a negative exit
code: minus the signal number (-15 for SIGTERM), which the parent prints.
Terminating is only safe here because nobody uses the queue any more.

What the Interleave timeline should show:
  * the parent, a "writer" and a "reader" process lane;
  * five message arrows writer -> reader through one queue object, the writer
    lane ending after the last put;
  * the reader blocked in get() between items, and its lane ending at the
    parent's terminate() (exit code -15), not on its own.
"""
import multiprocessing
import time

ITEMS = 5


def writer(queue):
    for i in range(ITEMS):
        queue.put(f"item {i}")
        time.sleep(0.02)  # spread the messages out in time


def reader(queue, all_read):
    count = 0
    while True:  # a server-style loop: runs until someone stops it
        item = queue.get()
        count += 1
        print(f"reader got {item!r}", flush=True)  # flush: we will be killed
        if count == ITEMS:
            all_read.set()


def main():
    queue = multiprocessing.Queue()
    all_read = multiprocessing.Event()
    w = multiprocessing.Process(target=writer, args=(queue,), name="writer")
    r = multiprocessing.Process(target=reader, args=(queue, all_read), name="reader")
    r.start()
    w.start()
    w.join()
    all_read.wait()
    print(f"all {ITEMS} items read; terminating the reader", flush=True)
    r.terminate()
    r.join()
    print(f"writer exit code: {w.exitcode}, reader exit code: {r.exitcode}")


if __name__ == "__main__":
    main()
