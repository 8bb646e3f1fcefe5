"""concurrent.futures: thread and process pools, futures and their exceptions.

What it does:
  1. ThreadPoolExecutor(3): submit() five "downloads" (sleeps); download 3
     raises ValueError. as_completed() yields futures as they finish; calling
     result() on the failed one re-raises its ValueError, which is caught and
     printed. Then executor.map() squares numbers in order.
  2. ProcessPoolExecutor(2): map() counts primes below several limits in two
     worker processes (real CPU work, so processes beat threads here).
The results are printed sorted, so the output does not depend on timing.

What the Interleave timeline should show:
  * a thread pool with 3 worker-thread lanes running the five downloads (one
    ending in an exception marker) and then the map tasks;
  * a process pool with 2 worker process lanes busy with CPU (count_primes);
  * task arrows from the main thread's submit()/map() to the workers, and the
    main thread blocked in as_completed() and map().
"""
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed


def download(n):
    time.sleep(0.02 * n)
    if n == 3:
        raise ValueError(f"download {n} failed")
    return f"page {n}"


def count_primes(limit):
    return sum(1 for k in range(2, limit) if all(k % d for d in range(2, int(k ** 0.5) + 1)))


def main():
    ok, failed = [], []
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {pool.submit(download, n): n for n in range(1, 6)}
        for future in as_completed(futures):
            try:
                ok.append(future.result())
            except ValueError as error:  # the task's exception, re-raised here
                failed.append(f"{futures[future]}: {error}")
        squares = list(pool.map(lambda x: x * x, range(5)))
    print("downloaded:", sorted(ok))
    print("failed:", failed)
    print("squares:", squares)

    with ProcessPoolExecutor(max_workers=2) as pool:
        limits = [2000, 4000, 6000, 8000]
        for limit, count in zip(limits, pool.map(count_primes, limits)):
            print(f"primes below {limit}: {count}")


if __name__ == "__main__":
    main()
