"""The bank balance, done right: two threads share one balance behind a Lock.

What it does: a "deposit" thread adds 10 fifty times and a "withdraw" thread
takes 5 fifty times from a global balance that starts at 100. Each update
reads the balance, pauses briefly (as real work would), then writes it back,
all while holding one threading.Lock taken with acquire() and released in a
finally block. Because the read-pause-write is never interleaved, the final
balance always equals the expected one, which the program prints.

What the Interleave timeline should show:
  * two thread lanes, "deposit" and "withdraw", next to the main thread;
  * on each lane, alternating lock-hold bars (about 2 ms each) for lock
    "balance_lock", and wait bars while the other thread holds it;
  * the main thread waiting in join() until both lanes end.
Compare with bank_race.py, the same program without the lock.
"""
import threading
import time

ROUNDS = 50
START = 100
balance = START
balance_lock = threading.Lock()


def update(amount):
    global balance
    for _ in range(ROUNDS):
        balance_lock.acquire()
        try:
            current = balance      # read ...
            time.sleep(0.002)      # ... work (the other thread must wait) ...
            balance = current + amount  # ... write
        finally:
            balance_lock.release()  # always released, even if the work fails


def main():
    deposit = threading.Thread(target=update, args=(10,), name="deposit")
    withdraw = threading.Thread(target=update, args=(-5,), name="withdraw")
    deposit.start()
    withdraw.start()
    deposit.join()
    withdraw.join()
    expected = START + ROUNDS * 10 - ROUNDS * 5
    print(f"expected balance: {expected}")
    print(f"final balance: {balance}")
    print("correct" if balance == expected else "WRONG")


if __name__ == "__main__":
    main()
