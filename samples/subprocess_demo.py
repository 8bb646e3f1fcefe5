"""subprocess: running other programs and talking to them.

What it does, in order:
  1. subprocess.call runs `echo` and returns its exit code;
  2. Popen(stdout=PIPE) runs `ls -l` and captures what it prints;
  3. communicate(input=...) feeds text to a Python child (sys.executable -c ...)
     that upper-cases its stdin, and reads its answer back;
  4. the shell pipeline `ls -l | wc -l` built from two Popen objects joined
     by a pipe, without a shell.
Both `ls -l` runs list the same folder, so the line count captured in step 2
and the count from the pipeline in step 4 must agree; the program prints both.

What the Interleave timeline should show:
  * four short child-process lanes one after another (echo, ls, python) and
    then two at once (ls and wc), each starting with an arrow from the parent;
  * the parent blocked while it waits for each child (call, communicate);
  * pipe arrows: parent -> python child (stdin), children -> parent (stdout),
    and ls -> wc for the pipeline.
"""
import subprocess
import sys
from subprocess import PIPE, Popen


def main():
    code = subprocess.call(["echo", "hello from echo"])  # child writes to our stdout
    print(f"call: echo exited with {code}", flush=True)

    ls = Popen(["ls", "-l"], stdout=PIPE, text=True)
    listing, _ = ls.communicate()
    print(f"popen: captured {len(listing.splitlines())} lines from ls -l", flush=True)

    upper = Popen([sys.executable, "-c", "import sys; print(sys.stdin.read().upper())"],
                  stdin=PIPE, stdout=PIPE, text=True)
    answer, _ = upper.communicate("shout this please")
    print(f"communicate: python child answered {answer.strip()!r}", flush=True)

    p1 = Popen(["ls", "-l"], stdout=PIPE)
    p2 = Popen(["wc", "-l"], stdin=p1.stdout, stdout=PIPE)
    p1.stdout.close()  # only wc holds the read end now: ls gets SIGPIPE if wc quits early
    count = int(p2.communicate()[0])
    p1.wait()
    print(f"pipeline: ls -l | wc -l = {count}")


if __name__ == "__main__":
    main()
