"""4 producers x 25k items through queue.Queue to 4 consumers."""
import queue
import threading

PRODUCERS, CONSUMERS, ITEMS = 4, 4, 25000
q = queue.Queue()
got = [0] * CONSUMERS


def produce():
    for i in range(ITEMS):
        q.put(i)


def consume(k):
    while True:
        item = q.get()
        if item is None:
            return
        got[k] += 1


cs = [threading.Thread(target=consume, args=(k,)) for k in range(CONSUMERS)]
ps = [threading.Thread(target=produce) for _ in range(PRODUCERS)]
for t in cs + ps:
    t.start()
for t in ps:
    t.join()
for _ in cs:
    q.put(None)
for t in cs:
    t.join()
assert sum(got) == PRODUCERS * ITEMS
