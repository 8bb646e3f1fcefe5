"""threading.Timer and the low-level _thread.start_new_thread.

What it does:
  1. Two Timers: "ring" fires after 50 ms; "never" is cancel()ed before its
     200 ms are up, so its function never runs. Timers are threads: join()
     waits for them.
  2. _thread.start_new_thread starts a raw thread that cannot be joined and
     that the interpreter does not wait for at exit. So the main thread hands
     it a locked lock; the raw thread releases it when done and the main
     thread's acquire() waits for exactly that moment.

What the Interleave timeline should show:
  * a "ring" timer lane that idles 50 ms, then runs its function; a "never"
    lane that ends early (cancelled) without running anything;
  * a raw thread lane (no name) computing, and the main thread waiting on the
    `finished` lock until the raw thread releases it (an arrow between them).
"""
import _thread
import threading

events = []


def ring(label):
    events.append(f"timer {label} fired")


def raw_worker(n, finished):
    try:
        events.append(f"raw thread computed sum(range({n})) = {sum(range(n))}")
    finally:
        finished.release()  # signal the main thread, even if the work failed


def main():
    ringer = threading.Timer(0.05, ring, args=("ring",))
    never = threading.Timer(0.2, ring, args=("never",))
    ringer.start()
    never.start()
    never.cancel()
    ringer.join()
    never.join()

    finished = _thread.allocate_lock()
    finished.acquire()  # locked now; the raw thread unlocks it at the end
    _thread.start_new_thread(raw_worker, (100_000, finished))
    finished.acquire()  # blocks until raw_worker releases it

    for line in events:
        print(line)


if __name__ == "__main__":
    main()
