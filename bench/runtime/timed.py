"""Runs a workload as __main__ and reports its in-program wall time and peak RSS on stderr (last line)."""
import os
import resource
import runpy
import sys
import time

path = sys.argv[1]
sys.argv = sys.argv[1:]
t0 = time.perf_counter()
runpy.run_path(path, run_name="__main__")
elapsed = time.perf_counter() - t0
rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
os.write(2, ("BENCH %.6f %d\n" % (elapsed, rss_kib)).encode())
