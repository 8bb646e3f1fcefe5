"""multiprocessing.dummy.Pool: a pool of threads with the multiprocessing API.

What it does: a pool of 3 worker threads squares numbers (each call sleeps
50 ms to stand for I/O). It shows the four ways to hand work to a pool:
  map        blocks and returns the list of results;
  map_async  returns at once; a callback receives the whole list later;
  apply      blocks for one call; its arguments must be a tuple, e.g. (9,);
  apply_async returns at once; a callback receives the one result later.
Callbacks run in the pool's result-handler thread, so they only record what
they got; the main thread prints it after close() + join().

What the Interleave timeline should show:
  * one pool with 3 worker-thread lanes (plus the pool's handler threads);
  * task bars on the workers: 6 for map, 3 for map_async, 1 for apply, 1 for
    apply_async, each linked by an arrow from the main thread that submitted it;
  * the main thread blocked during map(), apply() and join().
"""
import time
from multiprocessing.dummy import Pool

received = []  # what the callbacks were given, in arrival order


def square(x):
    time.sleep(0.05)
    return x * x


def on_map_done(results):
    received.append(("map_async", results))


def on_apply_done(result):
    received.append(("apply_async", result))


def main():
    pool = Pool(3)
    print("map:", pool.map(square, range(6)))
    pending = pool.map_async(square, range(6, 9), callback=on_map_done)
    print("apply:", pool.apply(square, (9,)))  # a tuple, not a bare 9
    single = pool.apply_async(square, (10,), callback=on_apply_done)
    pool.close()  # no more work will be submitted
    pool.join()   # wait for the workers to finish everything
    print("map_async result:", pending.get())
    print("apply_async result:", single.get())
    for kind, value in sorted(received, key=lambda item: item[0]):
        print(f"{kind} callback got: {value}")


if __name__ == "__main__":
    main()
