#!/usr/bin/env python3
"""Checks the measured figures against the performance targets the issues set, and writes the
verdicts as the Markdown table the README includes (bench/results/targets.md).

    bench/targets.py [--results DIR] [--md FILE]

Reads what `make bench` wrote: DIR/micro/*.json (Google Benchmark) and DIR/cps.csv (the
end-to-end harness). A target whose figures are missing is reported as "not measured", never as
met. Exit status 0 either way: the table is the report, and the machines are noisy.
"""
import argparse
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gbench import by_name, load, ns  # noqa: E402

# Issue #3 (SIP message core) and issue #7 (CPS benchmark).
PARSE_NS_MAX = 250.0
PARSE_VS_OSIP_MIN = 20.0
CALLS_PER_S_MIN = 100_000.0
BYTES_PER_CALL_MAX = 2048.0
# End to end, same sipp rate, same run: Tandem's CPU per call over the peer's.
E2E_RATIO_MAX = {"kamailio": 0.25, "kamailio-topos": 0.05}
E2E_LABEL = {"kamailio": "Kamailio stateful proxy", "kamailio-topos": "Kamailio topos + Redis"}

MET, NOT_MET, UNMEASURED = "met", "**not met**", "not measured"


def verdict(ok):
    return MET if ok else NOT_MET


def micro_targets(micro_dir):
    rows = []
    parser = by_name(load(micro_dir, "sip_parser"))
    t, o = parser.get("tandem_fully_indexed/0"), parser.get("osip2_parse/0")
    what = "#3: INVITE with SDP parsed, fully indexed"
    if t:
        rows.append((what, f"≤ {PARSE_NS_MAX:.0f} ns", f"{ns(t):,.0f} ns",
                     verdict(ns(t) <= PARSE_NS_MAX)))
    else:
        rows.append((what, f"≤ {PARSE_NS_MAX:.0f} ns", "", UNMEASURED))
    if t and o:
        ratio = ns(o) / ns(t)
        rows.append((what + ", against libosip2 in the same run",
                     f"≥ {PARSE_VS_OSIP_MIN:.0f}× faster", f"{ratio:.1f}×",
                     verdict(ratio >= PARSE_VS_OSIP_MIN)))
    else:
        rows.append((what + ", against libosip2 in the same run",
                     f"≥ {PARSE_VS_OSIP_MIN:.0f}× faster", "", UNMEASURED))

    call = by_name(load(micro_dir, "b2bua_call"))
    basic = [b for name, b in call.items() if name.startswith("BM_B2buaBasicCall")]
    what = "#7: basic B2BUA calls in process, one core"
    if basic:
        b = basic[0]
        cps = b.get("calls/s", 0.0)
        rows.append((what, f"≥ {CALLS_PER_S_MIN:,.0f} calls/s", f"{cps:,.0f} calls/s",
                     verdict(cps >= CALLS_PER_S_MIN)))
        alloc = b.get("alloc_bytes/call")
        rows.append(("#7: bytes allocated per call on the hot path", "0 B",
                     "" if alloc is None else f"{alloc:.0f} B",
                     UNMEASURED if alloc is None else verdict(alloc == 0)))
    else:
        rows.append((what, f"≥ {CALLS_PER_S_MIN:,.0f} calls/s", "", UNMEASURED))

    memory = by_name(load(micro_dir, "b2bua_memory"))
    held = sorted((b.get("calls", 0), b) for name, b in memory.items()
                  if name.startswith("BM_MemoryPerEstablishedCall"))
    for calls, b in held:
        per_call = b.get("total_bytes/call", 0.0)
        rows.append((f"#7: memory per established call, {calls:,.0f} held",
                     f"≤ {BYTES_PER_CALL_MAX:,.0f} B", f"{per_call:,.0f} B",
                     verdict(per_call <= BYTES_PER_CALL_MAX)))
    if not held:
        rows.append(("#7: memory per established call", f"≤ {BYTES_PER_CALL_MAX:,.0f} B", "",
                     UNMEASURED))
    return rows


def e2e_targets(csv_path):
    """One row per peer and sipp rate: the ratio where both Tandem and the peer completed the
    step (status ok); a rate the peer could not carry is listed, without a ratio."""
    rows = []
    steps = {}
    if os.path.exists(csv_path):
        with open(csv_path) as f:
            for r in csv.DictReader(f):
                if r.get("generator") != "sipp":
                    continue  # "same sipp rate": the loadgen steps have no Kamailio row
                steps[(r["system"], int(r["offered_cps"]))] = r
    for peer, limit in E2E_RATIO_MAX.items():
        rates = sorted(rate for (system, rate) in steps if system == peer)
        what = f"#7: CPU per call, Tandem / {E2E_LABEL[peer]}"
        if not rates or not any(("tandem", rate) in steps for rate in rates):
            rows.append((what, f"≤ {limit}×", "", UNMEASURED))
            continue
        for rate in rates:
            mine, theirs = steps.get(("tandem", rate)), steps[(peer, rate)]
            if mine is None:
                continue
            label = f"{what}, {rate:,} calls/s"
            if theirs["status"] != "ok":
                rows.append((label, f"≤ {limit}×",
                             f"{E2E_LABEL[peer]} failed this step "
                             f"({float(theirs['success_pct']):.2f} % of calls)", "no ratio"))
                continue
            if mine["status"] != "ok":
                rows.append((label, f"≤ {limit}×",
                             f"Tandem failed this step ({float(mine['success_pct']):.2f} % of calls)",
                             NOT_MET))
                continue
            a = float(mine["sut_cpu_ms_per_call"])
            b = float(theirs["sut_cpu_ms_per_call"])
            ratio = a / b if b > 0 else float("inf")
            rows.append((label, f"≤ {limit}×",
                         f"{ratio:.3f}× ({a:.3f} / {b:.3f} ms)", verdict(ratio <= limit)))
    return rows


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", default=os.path.join(root, "bench", "results"))
    ap.add_argument("--md", help="write the table here (default: RESULTS/targets.md)")
    args = ap.parse_args()
    rows = micro_targets(os.path.join(args.results, "micro"))
    rows += e2e_targets(os.path.join(args.results, "cps.csv"))
    missed = [r for r in rows if r[3] == NOT_MET]
    met = sum(1 for r in rows if r[3] == MET)
    other = len(rows) - met - len(missed)
    lines = ["The performance targets of the issues, checked by `bench/targets.py` against the "
             "figures below (same run); a ratio is taken only at a sipp rate where both systems "
             "completed the step.", "",
             "| target | wanted | measured | verdict |", "|---|---|---|---|"]
    lines += [f"| {what} | {want} | {got} | {v} |" for what, want, got, v in rows]
    summary = f"{met} met, {len(missed)} not met"
    if other:
        summary += f", {other} without a verdict (not measured, or the peer failed the step)"
    if missed:
        summary += ". Not met: " + "; ".join(r[0] for r in missed)
    lines += ["", summary + "."]
    text = "\n".join(lines) + "\n"
    out = args.md or os.path.join(args.results, "targets.md")
    with open(out, "w") as f:
        f.write(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
