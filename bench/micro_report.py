#!/usr/bin/env python3
"""Turns Google Benchmark JSON files into the Markdown table the README includes."""
import datetime
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "cps"))
sys.path.insert(0, here)
import gbench  # noqa: E402
from gbench import by_name, ns  # noqa: E402
from report import cpu_model  # noqa: E402  (one definition, shared with the CPS report)

src, dst, command = sys.argv[1], sys.argv[2], sys.argv[3]
build_kind = sys.argv[4] if len(sys.argv) > 4 else "release build"


def load(name):
    return gbench.load(src, name)


rows = []
ctx = None
parser_doc = load("sip_parser")
parser = by_name(parser_doc)
reps = max([b.get("repetitions", 1) for b in (parser_doc or {}).get("benchmarks", [])] or [1])
names = {0: "INVITE with SDP", 1: "100 Trying", 2: "180 Ringing", 3: "200 OK with SDP", 4: "ACK", 5: "BYE"}
for i, label in names.items():
    t = parser.get(f"tandem_fully_indexed/{i}")
    o = parser.get(f"osip2_parse/{i}")
    if t:
        ratio = f"{ns(o) / ns(t):.1f}× faster than libosip2" if o else "libosip2 not built"
        rows.append((f"parse {label}, fully indexed", f"{ns(t):,.0f} ns", ratio))
builder = by_name(load("sip_builder"))
for key, label in [("BM_build_b_leg_invite", "build a B-leg INVITE from a parsed A-leg"),
                   ("BM_build_from_no_edits", "rebuild a parsed message unchanged"),
                   ("BM_sdp_parse_and_edit", "SDP parse + SBC edits")]:
    if key in builder:
        rows.append((label, f"{ns(builder[key]):,.0f} ns", ""))
txn = by_name(load("txn"))
for key, label in [("BM_ServerTxnRoundTrip", "server transaction create + match + complete"),
                   ("BM_ClientTxnRoundTrip", "client transaction create + match + complete"),
                   ("BM_TimerStartCancel", "timer start + cancel"),
                   ("BM_DialogLookup/1000", "dialog lookup, 1k dialogs"),
                   ("BM_DialogLookup/100000", "dialog lookup, 100k dialogs")]:
    if key in txn:
        rows.append((label, f"{ns(txn[key]):,.1f} ns", ""))
call = by_name(load("b2bua_call"))
call.update(by_name(load("b2bua_memory")))
call_doc = load("b2bua_call")
call_reps = max([b.get("repetitions", 1) for b in (call_doc or {}).get("benchmarks", [])] or [1])
for key, b in call.items():
    if key.startswith("BM_MemoryPerEstablishedCall"):
        rows.append((f"memory per established call ({b.get('calls', 0):,.0f} calls held)",
                     f"{b.get('total_bytes/call', 0):,.0f} B per call",
                     f"all RSS the engine added, over the calls: "
                     f"{b.get('bytes/call', 0):,.0f} B growth while the calls were set up "
                     f"(pool slots, dialog text, setup transactions at their peak) plus "
                     f"{b.get('preallocated_bytes/call', 0):,.0f} B per call of capacity "
                     "resident from the start (tables, pool bookkeeping)"))
        continue
    calls = b.get("calls/s", 0)
    rows.append(("basic B2BUA call in process (7 messages in, 7 out), one core",
                 f"{calls:,.0f} calls/s",
                 f"median of {call_reps} runs; "
                 f"{b.get('time/msg', 0) * 1e9:,.0f} ns per message; "
                 f"{b.get('alloc_bytes/call', 0):.0f} bytes allocated per call; "
                 f"{b.get('call_state_bytes', 0):.0f} bytes of call state"))
ring = by_name(load("dataplane_ring"))
for key, b in ring.items():
    extra = ""
    if "packets/s" in b:
        extra = f"{b['packets/s']:,.0f} packets/s"
    rows.append((f"dataplane: {key}", f"{ns(b):,.1f} ns", extra))

for name in ("sip_parser", "b2bua_call", "txn"):
    doc = load(name)
    if doc:
        ctx = doc.get("context", {})
        break

with open(dst, "w") as f:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cpus = os.cpu_count()
    load_avg = os.getloadavg()[0]
    f.write(f"Measured {now} on {cpus} CPUs ({cpu_model()}), load average {load_avg:.1f} at the end; "
            f"`{command}`; CPU time per operation (Google Benchmark, {build_kind}); the parser "
            f"rows are the median of {reps} repetitions run in random interleaving with "
            f"libosip2's.\n\n")
    f.write("| what | figure | note |\n|---|---:|---|\n")
    for what, fig, note in rows:
        f.write(f"| {what} | {fig} | {note} |\n")
