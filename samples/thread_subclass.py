"""A threading.Thread subclass that overrides run().

What it does: Summer is a Thread subclass whose run() adds up the squares of
1..n, pausing briefly every few steps, and keeps the result on the instance.
Three Summers with different n start together; the main thread joins each one
and then prints every result next to the value it must have.

What the Interleave timeline should show:
  * three thread lanes named "summer-10", "summer-20" and "summer-30", starting
    together; the bigger the n, the longer the lane;
  * the main thread blocked in join() on each of them in turn.
"""
import threading
import time


class Summer(threading.Thread):
    def __init__(self, n):
        super().__init__(name=f"summer-{n}")  # always call Thread.__init__
        self.n = n
        self.total = None

    def run(self):  # called in the new thread by start()
        total = 0
        for i in range(1, self.n + 1):
            total += i * i
            if i % 5 == 0:
                time.sleep(0.01)  # make the work visible on the timeline
        self.total = total


def main():
    workers = [Summer(n) for n in (10, 20, 30)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for w in workers:
        formula = w.n * (w.n + 1) * (2 * w.n + 1) // 6
        print(f"{w.name}: sum of squares = {w.total} (formula says {formula})")


if __name__ == "__main__":
    main()
