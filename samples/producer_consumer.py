"""Producer/consumer with queue.Queue: 2 producers, 2 consumers, sentinel shutdown.

What it does: two producer threads each put 5 numbered items on a bounded
queue.Queue (maxsize 3, so producers block when it is full). Two consumer
threads take items, "process" them and call task_done(). The main thread
waits for the producers, then q.join() waits until every item has been
marked done, then it puts one None sentinel per consumer so each consumer
leaves its loop. It prints how many items were consumed and their sum.

What the Interleave timeline should show:
  * four thread lanes: producer-1, producer-2, consumer-1, consumer-2;
  * queue arrows from a producer's put() to the consumer's get() of the same
    item (one queue object);
  * producers blocked in put() while the queue is full, consumers blocked in
    get() while it is empty, and the main thread in q.join().
"""
import queue
import threading
import time

PER_PRODUCER = 5
q = queue.Queue(maxsize=3)
consumed = []  # (consumer name, item); list.append is thread-safe


def produce(number):
    for i in range(PER_PRODUCER):
        q.put(number * 100 + i)  # blocks while the queue is full
        time.sleep(0.005)


def consume():
    name = threading.current_thread().name
    while True:
        item = q.get()  # blocks while the queue is empty
        if item is None:  # sentinel: no more work
            q.task_done()
            break
        time.sleep(0.01)  # process the item
        consumed.append((name, item))
        q.task_done()


def main():
    producers = [threading.Thread(target=produce, args=(n,), name=f"producer-{n}") for n in (1, 2)]
    consumers = [threading.Thread(target=consume, name=f"consumer-{n}") for n in (1, 2)]
    for t in producers + consumers:
        t.start()
    for t in producers:
        t.join()
    q.join()  # every item put so far has been processed
    for _ in consumers:
        q.put(None)  # one sentinel per consumer
    for t in consumers:
        t.join()
    items = sorted(item for _, item in consumed)
    print(f"consumed {len(items)} items (expected {2 * PER_PRODUCER})")
    print(f"items: {items}")
    print(f"sum: {sum(items)}")


if __name__ == "__main__":
    main()
