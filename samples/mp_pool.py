"""multiprocessing.Pool: apply_async jobs to worker processes, then close + join.

What it does: a pool of 2 worker processes computes cubes of 0..5. Every job
is submitted with apply_async, which returns an AsyncResult at once; the
parent collects the results with get(), then close() (no more jobs) and
join() (wait for the workers to exit). It prints the results and how many
different worker processes did the work.

What the Interleave timeline should show:
  * one pool with 2 worker process lanes;
  * six task bars spread over the two workers, each linked by an arrow from the
    parent's apply_async call (and back when the result arrives);
  * the parent blocked in get() and finally in join().
"""
import multiprocessing
import os
import time


def cube(x):
    time.sleep(0.05)  # stand-in for real work
    return x ** 3, os.getpid()


def main():
    pool = multiprocessing.Pool(processes=2)
    pending = [pool.apply_async(cube, (x,)) for x in range(6)]  # returns at once
    answers = [p.get() for p in pending]  # blocks until each job is done
    pool.close()  # no more jobs
    pool.join()   # wait for the worker processes to exit
    results = [value for value, _ in answers]
    workers = {pid for _, pid in answers}
    print(f"cubes: {results}")
    print(f"worker processes used: {len(workers)}")


if __name__ == "__main__":
    main()
