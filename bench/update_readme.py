#!/usr/bin/env python3
"""Copies the measured tables (bench/results/targets.md, micro.md, cps.md and cps-dpdk.md) into
README.md between the benchmark markers, so that no figure in the README is typed by hand."""
import os
import re
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
readme = os.path.join(root, "README.md")
parts = []
for name, title in (("targets.md", "Against the targets (`bench/targets.py`)"),
                    ("micro.md", "Micro-benchmarks (`bench/micro.sh`)"),
                    ("cps.md", "End to end, calls per second (`bench/cps/run.sh`)"),
                    ("cps-dpdk.md", "DPDK backend, calls per second (`bench/cps/dpdk.sh`)")):
    path = os.path.join(root, "bench", "results", name)
    if not os.path.exists(path):
        continue
    with open(path) as f:
        text = f.read().strip()
    # The CPS report starts with its own title; the README gives its own heading.
    text = re.sub(r"\A# [^\n]*\n+", "", text)
    text = re.sub(r"^## ", "#### ", text, flags=re.M)
    parts.append(f"### {title}\n\n{text}\n")
    if name == "cps.md" and os.path.exists(os.path.join(root, "bench", "results", "cps.png")):
        parts.append("![CPU per call and success rate against offered calls per second](bench/results/cps.png)\n")
with open(readme) as f:
    doc = f.read()
begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
if begin not in doc or end not in doc:
    sys.exit("README.md has no benchmark markers")
new = doc[: doc.index(begin) + len(begin)] + "\n" + "\n".join(parts) + doc[doc.index(end):]
with open(readme, "w") as f:
    f.write(new)
print("README.md: benchmark section updated")
