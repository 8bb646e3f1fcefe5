"""multiprocessing.Manager: a dict and a list shared by several processes.

What it does: a Manager starts a server process that owns a dict and a list;
the other processes get proxies to them. Four worker processes each store
the square of their number in the dict and append a line to the list. The
parent prints both after joining the workers (sorted, because the workers
finish in any order).

What the Interleave timeline should show:
  * the parent, the manager's server process, and four worker process lanes;
  * each proxy call (d[key] = ..., append) as a message arrow from a worker to
    the manager process and back;
  * the parent blocked in join() until the workers are done.
"""
import multiprocessing
import os


def record(number, shared_dict, shared_list):
    shared_dict[number] = number * number
    shared_list.append(f"worker {number} (pid {os.getpid()})")


def main():
    with multiprocessing.Manager() as manager:
        shared_dict = manager.dict()
        shared_list = manager.list()
        workers = [
            multiprocessing.Process(target=record, args=(n, shared_dict, shared_list))
            for n in range(4)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        print(f"dict: {dict(sorted(shared_dict.items()))}")
        print(f"list has {len(shared_list)} entries:")
        for line in sorted(shared_list):
            print(f"  {line}")


if __name__ == "__main__":
    main()
