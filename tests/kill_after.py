"""Run a script (or code) and SIGKILL it right after its N-th rename whose target matches
a pattern: an interruption at an exact moment, for real (no clean-up, no ``finally``).

    python tests/kill_after.py PATTERN N script.py [args ...]
    python tests/kill_after.py PATTERN N -c "code" [args ...]

N = 0 never kills; the number of matching renames is then printed on stderr at exit, as
``renames: <count>``.
"""

import atexit
import os
import re
import runpy
import signal
import sys


def main() -> None:
    pattern, count, target, *rest = sys.argv[1:]
    wanted = int(count)
    real_replace = os.replace
    seen = 0

    def replace(source, destination, *args, **kwargs):
        nonlocal seen
        real_replace(source, destination, *args, **kwargs)
        if re.search(pattern, os.fspath(destination)):
            seen += 1
            if seen == wanted:
                os.kill(os.getpid(), signal.SIGKILL)

    os.replace = replace
    if wanted == 0:
        atexit.register(lambda: print(f"renames: {seen}", file=sys.stderr))
    if target == "-c":
        code, *arguments = rest
        sys.argv = ["-c", *arguments]
        exec(compile(code, "<kill_after>", "exec"), {"__name__": "__main__"})
    else:
        sys.argv = [target, *rest]
        runpy.run_path(target, run_name="__main__")


if __name__ == "__main__":
    main()
