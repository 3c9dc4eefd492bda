#!/usr/bin/env python3
"""Run a command and record the CPU time it and all its descendants used.

  rusage.py OUTFILE -- COMMAND [ARG...]

Writes "USER_SECONDS SYSTEM_SECONDS EXIT_STATUS" to OUTFILE when COMMAND ends and
exits with COMMAND's status (128+N when a signal N ended it). SIGTERM, SIGINT and
SIGHUP sent to this wrapper are passed on to COMMAND, so stopping the wrapper by
its PID still records what the command used until then. Used by bench/cps/run.sh
to account the load generator's (sipp's) own CPU.
"""
import os
import resource
import signal
import subprocess
import sys


def main(argv):
    if len(argv) < 4 or argv[2] != "--":
        sys.stderr.write(__doc__)
        return 2
    out = argv[1]
    child = subprocess.Popen(argv[3:])

    def forward(signum, _frame):
        try:
            child.send_signal(signum)
        except ProcessLookupError:
            pass

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, forward)
    rc = child.wait()
    if rc < 0:
        rc = 128 - rc
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out, "w") as f:
        f.write(f"{ru.ru_utime:.3f} {ru.ru_stime:.3f} {rc}\n")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
