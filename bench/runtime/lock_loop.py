"""Two threads x 100k `with lock` iterations."""
import threading

N = 100000
lock = threading.Lock()
count = 0


def work():
    global count
    for _ in range(N):
        with lock:
            count += 1


ts = [threading.Thread(target=work) for _ in range(2)]
for t in ts:
    t.start()
for t in ts:
    t.join()
assert count == 2 * N
