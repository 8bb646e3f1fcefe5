"""gevent: greenlets that take turns on one thread.

What it does: three greenlets are spawned with gevent.spawn; each does three
steps and calls gevent.sleep between them, which hands control to the next
greenlet. gevent.joinall waits for all three; their return values are printed.
gevent is not part of the standard library: when it cannot be imported the
program says so on stderr and exits 0 (Debian: apt install python3-gevent).

What the Interleave timeline should show:
  * one OS thread carrying three greenlet lanes (category `greenlet`),
    "worker-1".."worker-3";
  * the greenlets' running slices interleaved: at every gevent.sleep control
    switches to another greenlet, so the steps alternate 1, 2, 3, 1, 2, 3, ...
"""
import sys

try:
    import gevent
except ImportError:
    gevent = None


def worker(number):
    for step in range(3):
        print(f"worker-{number} step {step}", flush=True)
        gevent.sleep(0.01)  # yield: the other greenlets run meanwhile
    return number * 100


def main():
    if gevent is None:
        print("gevent is not installed; this sample needs it "
              "(Debian: apt install python3-gevent, or pip install gevent). Skipping.",
              file=sys.stderr)
        return
    greenlets = [gevent.spawn(worker, n) for n in (1, 2, 3)]
    for n, g in enumerate(greenlets, start=1):
        g.name = f"worker-{n}"
    gevent.joinall(greenlets)
    print("results:", [g.value for g in greenlets])


if __name__ == "__main__":
    main()
