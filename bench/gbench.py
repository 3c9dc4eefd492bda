"""Reading Google Benchmark JSON output: shared by bench/micro_report.py and bench/targets.py."""
import json
import os


def load(directory, name):
    """The JSON document bench/micro.sh wrote for suite `name`, or None when it did not run."""
    path = os.path.join(directory, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def by_name(doc):
    """One run per benchmark: with repetitions, the run of median CPU time (a real run, so its
    counters stay consistent with its time)."""
    runs = {}
    for b in (doc or {}).get("benchmarks", []):
        if b.get("run_type", "iteration") == "iteration":
            runs.setdefault(b["name"], []).append(b)
    return {name: sorted(rs, key=lambda r: r["cpu_time"])[(len(rs) - 1) // 2]
            for name, rs in runs.items()}


def ns(b):
    """A run's CPU time per iteration in nanoseconds."""
    unit = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
    return b["cpu_time"] * unit
