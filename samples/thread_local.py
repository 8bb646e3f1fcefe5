"""threading.local: one attribute name, a separate value in every thread.

What it does: each of three threads binds its own student to the shared
`context` object (context.student = ...), pauses, and then calls a helper
that reads context.student without being passed it: every thread finds its
own student, never another thread's. The main thread never set a student,
so for it the attribute does not exist.

What the Interleave timeline should show:
  * three thread lanes, "thread-alice", "thread-bob" and "thread-carol",
    overlapping in time;
  * thread-local bindings of `student` on each lane (category `local`), each
    with its own value.
"""
import threading
import time

context = threading.local()


def greet():
    # No argument: the student comes from this thread's own slot in `context`.
    return f"{threading.current_thread().name} sees student {context.student}"


def process_student(name, report):
    context.student = name
    time.sleep(0.05)  # the other threads bind their students meanwhile
    report.append(greet())  # printed by main: print() from threads can mix lines


def main():
    report = []
    threads = [
        threading.Thread(target=process_student, args=(name, report), name=f"thread-{name}")
        for name in ("alice", "bob", "carol")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for line in sorted(report):
        print(line)
    print("main thread has a student:", hasattr(context, "student"))


if __name__ == "__main__":
    main()
