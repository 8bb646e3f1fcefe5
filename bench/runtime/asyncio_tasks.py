"""10,000 asyncio tasks x 3 sleep(0)."""
import asyncio


async def task():
    for _ in range(3):
        await asyncio.sleep(0)


async def main():
    await asyncio.gather(*(task() for _ in range(10000)))


asyncio.run(main())
