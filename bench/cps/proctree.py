#!/usr/bin/env python3
"""CPU accounting and process-tree helper for bench/cps/run.sh.

  proctree.py ticks ROOT_PID...   print utime+stime (clock ticks) summed over every
                                  live process in the trees rooted at ROOT_PID...
                                  (each process's /proc/PID/stat already covers all
                                  of its threads)
  proctree.py pids ROOT_PID...    print the PIDs of those trees, children first

Only /proc is read; nothing is killed here.
"""
import os
import sys


def read_stat(pid):
    """(ppid, utime + stime) of one process, or None when it has gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("ascii", "replace")
    except OSError:
        return None
    # comm (field 2) may hold spaces and parentheses: split after the last ')'.
    rest = data[data.rindex(")") + 2:].split()
    # rest[0] is field 3 (state); field N is rest[N - 3].
    return int(rest[1]), int(rest[11]) + int(rest[12])


def snapshot():
    procs = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = read_stat(int(name))
            if st is not None:
                procs[int(name)] = st
    return procs


def trees(roots, procs):
    children = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    order, seen = [], set()
    stack = [r for r in roots if r in procs]
    while stack:  # bounded: every PID is visited at most once
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        order.append(pid)
        stack.extend(children.get(pid, []))
    return order


def main(argv):
    if len(argv) < 2 or argv[1] not in ("ticks", "pids"):
        sys.stderr.write(__doc__)
        return 2
    roots = [int(a) for a in argv[2:] if a.isdigit()]
    procs = snapshot()
    members = trees(roots, procs)
    if argv[1] == "ticks":
        print(sum(procs[p][1] for p in members))
    else:
        print(" ".join(str(p) for p in reversed(members)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
