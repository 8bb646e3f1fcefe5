"""2 processes x 5,000 items through a multiprocessing.Queue."""
import multiprocessing

ITEMS = 5000


def produce(q):
    for i in range(ITEMS):
        q.put(i)
    q.put(None)


if __name__ == "__main__":
    q = multiprocessing.Queue()
    ps = [multiprocessing.Process(target=produce, args=(q,)) for _ in range(2)]
    for p in ps:
        p.start()
    done = got = 0
    while done < 2:
        item = q.get()
        if item is None:
            done += 1
        else:
            got += 1
    for p in ps:
        p.join()
    assert got == 2 * ITEMS
