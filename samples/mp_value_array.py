"""multiprocessing.Value and Array: shared memory changed by child processes.

What it does: the parent creates a shared integer Value (a counter) and a
shared Array of 5 doubles. Two "incrementer" children add 1 to the counter
200 times each; `counter += 1` is a read and a write, so each one takes the
value's own lock with get_lock(). A "filler" child writes squares into the
array. After joining them the parent prints the counter (400) and the array.

What the Interleave timeline should show:
  * the parent and three child process lanes;
  * lock activity on the Value's lock in both incrementer lanes (holds, and
    waits when the other incrementer holds it);
  * shared-memory writes (category `shared`) to the counter and the array.
"""
import multiprocessing

ROUNDS = 200


def increment(counter):
    for _ in range(ROUNDS):
        with counter.get_lock():  # without it, increments can be lost
            counter.value += 1


def fill_squares(array):
    for i in range(len(array)):
        array[i] = float(i * i)


def main():
    counter = multiprocessing.Value("i", 0)       # 'i' = C int
    array = multiprocessing.Array("d", [0.0] * 5)  # 'd' = C double
    children = [
        multiprocessing.Process(target=increment, args=(counter,), name="incrementer-1"),
        multiprocessing.Process(target=increment, args=(counter,), name="incrementer-2"),
        multiprocessing.Process(target=fill_squares, args=(array,), name="filler"),
    ]
    for child in children:
        child.start()
    for child in children:
        child.join()
    print(f"counter: {counter.value} (expected {2 * ROUNDS})")
    print(f"array: {list(array)}")


if __name__ == "__main__":
    main()
