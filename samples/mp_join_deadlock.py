"""A hang the Python docs warn about ("Joining processes that use queues"): join before get.

WARNING: this program never finishes on its own. Stop it with Ctrl-C (or the
Stop button); that is the point of the sample. The fix: swap the last two
statements (get the result, then join).

What it does: a child process puts one large result (a million characters) on
a multiprocessing.Queue. The queue's feeder thread in the child writes it into
a pipe, which takes only 64 KiB until someone reads. The parent joins the child
before reading the queue, and the child cannot end before its feeder has
written everything: each process waits for the other, forever.

What the Interleave timeline should show:
  * the parent's main thread blocked in join() on the child "producer";
  * the producer's lane: its main thread joining the "QueueFeederThread" as
    the process ends, and that thread stuck writing into the pipe;
  * a deadlock report from each process ("every thread of every process is
    blocked"); the producer's says why and what to do.
"""
import multiprocessing as mp


def produce(results):
    results.put("x" * 1_000_000)
    print("producer: result put on the queue", flush=True)


if __name__ == "__main__":
    results = mp.Queue()
    child = mp.Process(target=produce, args=(results,), name="producer")
    child.start()
    print("parent: joining the producer before reading its result", flush=True)
    child.join()                 # never returns: the producer waits for someone to read
    print("parent: got", len(results.get()), "characters")
