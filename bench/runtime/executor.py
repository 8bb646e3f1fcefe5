"""ThreadPoolExecutor(8) x 20,000 submits."""
from concurrent.futures import ThreadPoolExecutor


def task(x):
    return x + 1


with ThreadPoolExecutor(8) as ex:
    futures = [ex.submit(task, i) for i in range(20000)]
    total = sum(f.result() for f in futures)
assert total == sum(range(1, 20001))
