"""threading's other primitives: RLock, Condition, Semaphore, Event, Barrier.

What it does, one short scene each:
  RLock      a function holding the lock calls another that takes it again
             (a plain Lock would deadlock; an RLock counts its owner's holds);
  Condition  a consumer wait()s until a producer appends an item and notify()s;
  Semaphore  4 workers, at most 2 inside at once; it prints the peak (2);
  Event      two waiters block in wait() until the main thread set()s it;
  Barrier    3 threads arrive at different times and all leave together; it
             prints whether every arrival came before every departure.

What the Interleave timeline should show:
  * RLock: nested hold bars of one lock on the main thread (depth 2);
  * Condition: the consumer waiting, released by the producer's notify arrow;
  * Semaphore: worker lanes 1-4, never more than two holding at once, the
    others waiting;
  * Event: two waiting lanes that all end at the main thread's set();
  * Barrier: three lanes waiting at different lengths, all ending at once.
"""
import threading
import time


def rlock_scene():
    rlock = threading.RLock()
    def inner():
        with rlock:  # the owner takes it again: fine with an RLock
            return "inner"
    with rlock:
        print("RLock: re-entered, got", inner())


def condition_scene():
    items, cond = [], threading.Condition()
    def consumer():
        with cond:
            cond.wait_for(lambda: items)  # releases the lock while waiting
            print("Condition: consumer got", items.pop())
    t = threading.Thread(target=consumer, name="cond-consumer")
    t.start()
    time.sleep(0.02)  # only to make the wait visible; wait_for handles any order
    with cond:
        items.append("parcel")
        cond.notify()
    t.join()


def semaphore_scene():
    slots, guard = threading.Semaphore(2), threading.Lock()
    inside, peak = [0], [0]
    def worker():
        with slots:
            with guard:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            time.sleep(0.03)
            with guard:
                inside[0] -= 1
    workers = [threading.Thread(target=worker, name=f"sem-worker-{i}") for i in range(1, 5)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print(f"Semaphore: at most {peak[0]} of {len(workers)} workers inside at once")


def event_scene():
    go, released = threading.Event(), []
    def waiter(n):
        go.wait()
        released.append(n)
    waiters = [threading.Thread(target=waiter, args=(n,), name=f"event-waiter-{n}") for n in (1, 2)]
    for w in waiters:
        w.start()
    time.sleep(0.02)  # only to make the wait visible
    go.set()
    for w in waiters:
        w.join()
    print(f"Event: waiters released: {sorted(released)}")


def barrier_scene():
    barrier, log = threading.Barrier(3), []
    def party(n):
        time.sleep(0.01 * n)  # arrive at different times
        log.append("arrive")
        barrier.wait()
        log.append("leave")
    parties = [threading.Thread(target=party, args=(n,), name=f"party-{n}") for n in (1, 2, 3)]
    for p in parties:
        p.start()
    for p in parties:
        p.join()
    print("Barrier: all 3 arrived before any left:", log == ["arrive"] * 3 + ["leave"] * 3)


if __name__ == "__main__":
    for scene in (rlock_scene, condition_scene, semaphore_scene, event_scene, barrier_scene):
        scene()
