"""A real deadlock: two threads take two locks in opposite orders.

WARNING: this program never finishes on its own. Stop it with Ctrl-C (or the
Stop button); that is the point of the sample.

What it does: thread A takes lock_a, thread B takes lock_b. A Barrier makes
sure both hold their first lock before either goes on, so the deadlock
happens on every run. Then A asks for lock_b (held by B) and B asks for
lock_a (held by A): each waits for the other forever. The main thread joins
both threads without a timeout, so the process hangs.

What the Interleave timeline should show:
  * thread lanes "A" and "B": A holding lock_a and B holding lock_b (hold
    bars that never end), each followed by a wait bar for the other lock
    that never ends either;
  * the main thread blocked in join();
  * a deadlock report (category `deadlock`): the cycle A -> lock_b -> B ->
    lock_a -> A, with the source lines of both acquisitions.
"""
import sys
import threading


def say(line):
    # One write per line: two threads calling print() at once can mix lines.
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


lock_a = threading.Lock()
lock_b = threading.Lock()
both_hold_first = threading.Barrier(2)


def take(name, first, first_name, second, second_name):
    with first:
        say(f"thread {name} holds {first_name}")
        both_hold_first.wait()  # the other thread now holds our second lock
        say(f"thread {name} waits for {second_name}")
        with second:  # never succeeds
            say(f"thread {name} got both locks")


def main():
    a = threading.Thread(target=take, args=("A", lock_a, "lock_a", lock_b, "lock_b"), name="A")
    b = threading.Thread(target=take, args=("B", lock_b, "lock_b", lock_a, "lock_a"), name="B")
    a.start()
    b.start()
    a.join()  # hangs here forever
    b.join()


if __name__ == "__main__":
    main()
