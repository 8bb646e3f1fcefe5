"""`python -X dev -W ... -O -m interleave run prog.py` runs prog.py as `python -X dev -W ... -O prog.py`
would: the supervisor passes the interpreter's own options on to the program's interpreter."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

from support import launched, run_plain, runtime_env, write_program

SHOW = r'''
import json, sys
print(json.dumps({"dev": sys.flags.dev_mode, "optimize": sys.flags.optimize, "debug": __debug__,
                  "warnoptions": sys.warnoptions, "xoptions": sys._xoptions,
                  "argv": sys.orig_argv[1:-1] if hasattr(sys, "orig_argv") else None}))
'''
OPTIONS = ["-X", "dev", "-X", "int_max_str_digits=5000", "-W", "error::DeprecationWarning", "-O"]


class InterpreterOptions(unittest.TestCase):
    def test_x_w_and_o_options_reach_the_program(self):
        path = write_program(self, SHOW)
        plain = json.loads(run_plain(OPTIONS + [path]).stdout)
        fd, out = tempfile.mkstemp(suffix=".json")
        os.close(fd)
        self.addCleanup(os.unlink, out)
        p = subprocess.run([sys.executable] + OPTIONS + ["-m", "interleave", "run", "--output", out, path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=runtime_env(), timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        traced = json.loads(p.stdout)
        self.assertEqual(traced, plain)
        self.assertEqual(traced["dev"], True)
        self.assertEqual(traced["optimize"], 1)
        self.assertEqual(traced["xoptions"]["int_max_str_digits"], "5000")

    def test_launched_run_keeps_the_interpreter_options_and_sys_path(self):
        # As the extension starts a run: the program is the launched interpreter's fork child, so its
        # options, sys.path, site-packages and orig_argv are exactly those of the plain run.
        path = write_program(self, SHOW + SITE)
        plain = run_plain(OPTIONS + [path])
        fd, out = tempfile.mkstemp(suffix=".json")
        os.close(fd)
        self.addCleanup(os.unlink, out)
        cmd, env = launched([path], output=out)
        p = subprocess.run(cmd[:1] + OPTIONS + cmd[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                           timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, plain.stdout)
        self.assertEqual(json.loads(p.stdout.splitlines()[0])["dev"], True)
        with open(out) as f:
            meta = json.load(f)["metadata"]
        [proc] = meta["processes"]
        self.assertEqual(proc["pid"], meta["program"]["pid"])
        self.assertEqual(meta["exitCode"], 0)

    def test_supervisor_without_site_still_runs_the_program_with_site(self):
        # The extension and the Node CLI start the supervisor with -S (it needs no site-packages);
        # the program must still get site, its .pth files and sitecustomize as in a plain run.
        path = write_program(self, SITE)
        plain = json.loads(run_plain([path]).stdout)
        fd, out = tempfile.mkstemp(suffix=".json")
        os.close(fd)
        self.addCleanup(os.unlink, out)
        p = subprocess.run([sys.executable, "-S", "-m", "interleave", "run", "--output", out, path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=runtime_env(), timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        traced = json.loads(p.stdout)
        self.assertEqual(traced, plain)
        self.assertEqual(traced["no_site"], 0)
        self.assertTrue(traced["site"])
        with open(out) as f:
            self.assertIn("traceEvents", json.load(f))


    def test_the_programs_own_sitecustomize_still_runs(self):
        # Ours runs first (it is first on PYTHONPATH), then hands over to the one the program's path
        # would have given it, in both ways of starting a run.
        from support import trace_script
        folder = tempfile.mkdtemp()
        self.addCleanup(lambda: (os.unlink(os.path.join(folder, "sitecustomize.py")), os.rmdir(folder)))
        with open(os.path.join(folder, "sitecustomize.py"), "w") as f:
            f.write("import builtins\nbuiltins.OWN_SITECUSTOMIZE = __file__\n")
        path = write_program(self, "import builtins, sys\n"
                                   "print(getattr(builtins, 'OWN_SITECUSTOMIZE', None), sys.modules['sitecustomize'].__file__)\n")
        env = {"PYTHONPATH": folder}
        expected = "%s %s" % ((os.path.join(folder, "sitecustomize.py"),) * 2)
        self.assertEqual(run_plain([path], env=env).stdout.decode().strip(), expected)
        from support import BOOT_DIR, RUNTIME
        for launch in (False, True):
            with self.subTest(launch=launch):
                ours = BOOT_DIR if launch else RUNTIME      # (what each way puts first on the path)
                r = trace_script(path, env={"PYTHONPATH": ours + os.pathsep + folder}, launch=launch)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout.strip(), expected)


SITE = r'''
import json, sys
print(json.dumps({"no_site": sys.flags.no_site, "site": "site" in sys.modules,
                  "site_packages": sorted(p for p in sys.path if p.endswith(("site-packages", "dist-packages"))),
                  "argv": sys.orig_argv[1:-1] if hasattr(sys, "orig_argv") else None}))
'''


if __name__ == "__main__":
    unittest.main()
