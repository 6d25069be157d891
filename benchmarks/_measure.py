"""Runs one command and reports its exact wall time and peak RSS (`ru_maxrss` from `os.wait4`).

    python benchmarks/_measure.py RESULT.json -- fivetran debug ...

Why a wrapper: on Linux a forked child starts with its parent's RSS high-water mark, and `exec`
keeps it in `ru_maxrss`. Forked straight from the benchmark (hundreds of MB after verifying a
DuckDB file) the runner's peak would read as the benchmark's. This fresh, small interpreter
forks the command instead, so `ru_maxrss` is the command's own peak (floor: this wrapper's
~10 MB, far below any `fivetran debug` run). Stdout and stderr are inherited.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> int:
    result_path, separator, *command = sys.argv[1:]
    if separator != "--" or not command:
        print("usage: _measure.py RESULT.json -- COMMAND...", file=sys.stderr)
        return 2
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: become the command
        try:
            os.execvp(command[0], command)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    with open(result_path, "w") as out:
        json.dump({"returncode": code, "wall_seconds": wall, "ru_maxrss_kb": usage.ru_maxrss,
                   "child_pid": pid}, out)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
