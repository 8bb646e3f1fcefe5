"""asyncio: tasks, gather, and an asyncio.Queue producer/consumer on one thread.

What it does:
  1. gather() runs three "fetch" coroutines concurrently (they sleep 30, 10
     and 20 ms) and returns their results in the order they were passed, not
     the order they finished;
  2. a producer task puts 6 jobs on an asyncio.Queue; two consumer tasks made
     with create_task() take jobs, "process" them (asyncio.sleep) and mark
     them done; queue.join() waits for all of them, then the consumers, which
     loop forever, are cancelled.
Everything runs on one thread: tasks take turns at each await.

What the Interleave timeline should show:
  * one thread with coroutine lanes (category `asyncio`): fetch-a/b/c
    overlapping, then producer, consumer-1 and consumer-2;
  * each task's running slices separated by its awaits (sleeping on
    asyncio.sleep or waiting on queue.get);
  * queue arrows from the producer to whichever consumer took each job.
"""
import asyncio


async def fetch(name, delay):
    await asyncio.sleep(delay)
    return f"{name} after {int(delay * 1000)} ms"


async def producer(queue, jobs):
    for job in range(jobs):
        await queue.put(job)
        await asyncio.sleep(0.005)


async def consumer(name, queue, done):
    while True:  # runs until cancelled
        job = await queue.get()
        await asyncio.sleep(0.01)  # process the job
        done.append((job, name))
        queue.task_done()


async def main():
    results = await asyncio.gather(fetch("a", 0.03), fetch("b", 0.01), fetch("c", 0.02))
    print("gather results:", results)

    queue = asyncio.Queue(maxsize=2)
    done = []
    consumers = [asyncio.create_task(consumer(f"consumer-{i}", queue, done), name=f"consumer-{i}")
                 for i in (1, 2)]
    await asyncio.create_task(producer(queue, 6), name="producer")
    await queue.join()  # every job taken *and* marked task_done
    for task in consumers:
        task.cancel()
    await asyncio.gather(*consumers, return_exceptions=True)  # let them finish cancelling
    print(f"processed {len(done)} jobs: {sorted(job for job, _ in done)}")
    print("consumers used:", sorted({name for _, name in done}))


if __name__ == "__main__":
    asyncio.run(main())
