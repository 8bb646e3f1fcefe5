"""One-way Pipes: each child sends its result back on its own pipe.

What it does: for each of four children the parent makes a one-way pipe with
Pipe(duplex=False), which returns (receive end, send end). The child gets the
send end, computes the sum of 0..n-1 and sends it; the parent receives from
each pipe in turn, joins the children and prints every result with the value
it must have.

What the Interleave timeline should show:
  * the parent and four child process lanes, started together;
  * one message arrow from each child to the parent (one pipe object each);
  * the parent blocked in recv() until each result arrives.
"""
import multiprocessing
import time


def partial_sum(n, send_end):
    time.sleep(n / 100_000)  # 10-40 ms: bigger jobs take longer
    send_end.send(sum(range(n)))
    send_end.close()


def main():
    sizes = [1000, 2000, 3000, 4000]
    jobs = []
    for n in sizes:
        recv_end, send_end = multiprocessing.Pipe(duplex=False)
        child = multiprocessing.Process(target=partial_sum, args=(n, send_end))
        child.start()
        send_end.close()  # the parent only reads; keep no copy of the send end
        jobs.append((n, recv_end, child))
    for n, recv_end, child in jobs:
        result = recv_end.recv()
        child.join()
        print(f"sum(range({n})) = {result} (expected {n * (n - 1) // 2})")


if __name__ == "__main__":
    main()
