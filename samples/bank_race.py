"""The bank balance with a race: two threads update one balance without a lock.

What it does: exactly bank_lock.py minus the lock. A "deposit" thread adds 10
fifty times and a "withdraw" thread takes 5 fifty times. Each update reads the
balance into a local, pauses 1 ms (as real work would, and this lets the other
thread run), then writes local + amount back. When both threads read the same
old value, the later write wipes out the earlier one: a lost update. The
program counts the writes that overwrote the other thread's update (it checks,
just before writing, whether the balance changed since it was read) and prints
expected vs actual. Lost updates happen on practically every run.

What the Interleave timeline should show:
  * two thread lanes, "deposit" and "withdraw", running at the same time, with
    no lock bars at all;
  * the shared global `balance` read and written from both threads without
    synchronisation (the editor flags it as a race).
"""
import threading
import time

ROUNDS = 50
START = 100
balance = START
lost = {}  # thread name -> how many of its writes overwrote the other's update


def update(amount):
    global balance
    name = threading.current_thread().name
    overwritten = 0
    for _ in range(ROUNDS):
        current = balance        # read
        time.sleep(0.001)        # work; the other thread runs meanwhile
        if balance != current:   # someone wrote since our read ...
            overwritten += 1     # ... and our write below erases it
        balance = current + amount  # write (from a stale value)
    lost[name] = overwritten


def main():
    deposit = threading.Thread(target=update, args=(10,), name="deposit")
    withdraw = threading.Thread(target=update, args=(-5,), name="withdraw")
    deposit.start()
    withdraw.start()
    deposit.join()
    withdraw.join()
    expected = START + ROUNDS * 10 - ROUNDS * 5
    print(f"expected balance: {expected}")
    print(f"actual balance: {balance}")
    print(f"difference: {balance - expected}")
    print(f"lost updates: {sum(lost.values())}")


if __name__ == "__main__":
    main()
