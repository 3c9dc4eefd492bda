#!/usr/bin/env python3
"""bench/targets.py on hand-made results: each verdict (met, not met, not measured, no ratio)
comes from the figures, and a missing file is never reported as met."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.environ.get("TANDEM_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "bench", "targets.py")
CSV_HEAD = "system,offered_cps,generator,ok,failed,success_pct,sut_cpu_ms_per_call,status\n"


def gbench(runs):
    return {"benchmarks": [dict(run_type="iteration", time_unit="ns", **r) for r in runs]}


class TargetsTest(unittest.TestCase):
    def run_targets(self, micro=None, cps=None):
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "micro"))
            for name, doc in (micro or {}).items():
                with open(os.path.join(d, "micro", name + ".json"), "w") as f:
                    json.dump(doc, f)
            if cps is not None:
                with open(os.path.join(d, "cps.csv"), "w") as f:
                    f.write(CSV_HEAD + cps)
            out = subprocess.run([sys.executable, SCRIPT, "--results", d], check=True,
                                 capture_output=True, text=True).stdout
            with open(os.path.join(d, "targets.md")) as f:
                self.assertEqual(f.read(), out)
        rows = {}
        for line in out.splitlines():
            cells = [c.strip() for c in line.strip("|").split("|")]
            if line.startswith("| #"):
                rows[cells[0]] = (cells[2], cells[3])
        return rows, out

    def test_nothing_measured_is_never_met(self):
        rows, out = self.run_targets()
        self.assertTrue(rows)
        self.assertTrue(all(v == "not measured" for _, v in rows.values()), rows)
        self.assertIn("0 met", out)

    def test_parser_figures(self):
        # Medians of repetitions: 240 ns (met) against 6,000 ns for libosip2 (25x, met).
        fast = gbench([{"name": "tandem_fully_indexed/0", "cpu_time": t} for t in (230, 240, 900)]
                      + [{"name": "osip2_parse/0", "cpu_time": 6000}])
        rows, _ = self.run_targets({"sip_parser": fast})
        self.assertEqual(rows["#3: INVITE with SDP parsed, fully indexed"], ("240 ns", "met"))
        self.assertEqual(
            rows["#3: INVITE with SDP parsed, fully indexed, against libosip2 in the same run"],
            ("25.0×", "met"))
        slow = gbench([{"name": "tandem_fully_indexed/0", "cpu_time": 321},
                       {"name": "osip2_parse/0", "cpu_time": 3000}])
        rows, out = self.run_targets({"sip_parser": slow})
        self.assertEqual(rows["#3: INVITE with SDP parsed, fully indexed"], ("321 ns", "**not met**"))
        self.assertEqual(
            rows["#3: INVITE with SDP parsed, fully indexed, against libosip2 in the same run"],
            ("9.3×", "**not met**"))
        self.assertIn("Not met: #3", out)

    def test_call_and_memory_figures(self):
        call = gbench([{"name": "BM_B2buaBasicCall/min_time:2.000", "cpu_time": 1,
                        "calls/s": 99_000.0, "alloc_bytes/call": 16.0}])
        memory = gbench([{"name": "BM_MemoryPerEstablishedCall/100000/iterations:1",
                          "cpu_time": 1, "calls": 100000.0, "total_bytes/call": 2100.0},
                         {"name": "BM_MemoryPerEstablishedCall/1000000/iterations:1",
                          "cpu_time": 1, "calls": 1000000.0, "total_bytes/call": 1900.0}])
        rows, _ = self.run_targets({"b2bua_call": call, "b2bua_memory": memory})
        self.assertEqual(rows["#7: basic B2BUA calls in process, one core"],
                         ("99,000 calls/s", "**not met**"))
        self.assertEqual(rows["#7: bytes allocated per call on the hot path"], ("16 B", "**not met**"))
        self.assertEqual(rows["#7: memory per established call, 100,000 held"],
                         ("2,100 B", "**not met**"))
        self.assertEqual(rows["#7: memory per established call, 1,000,000 held"], ("1,900 B", "met"))

    def test_end_to_end_ratios_only_where_both_completed(self):
        cps = ("kamailio,100,sipp,1000,0,100.00,1.0000,ok\n"
               "kamailio,500,sipp,2000,3000,40.00,0.9000,failed\n"
               "kamailio-topos,100,sipp,1000,0,100.00,3.0000,ok\n"
               "kamailio-topos,500,sipp,5000,0,100.00,2.0000,ok\n"
               "tandem,100,sipp,1000,0,100.00,0.2000,ok\n"
               "tandem,500,sipp,5000,0,100.00,0.0900,ok\n"
               "tandem,20000,loadgen,200000,0,100.00,0.0400,ok\n")
        rows, _ = self.run_targets(cps=cps)
        proxy = "#7: CPU per call, Tandem / Kamailio stateful proxy"
        topos = "#7: CPU per call, Tandem / Kamailio topos + Redis"
        self.assertEqual(rows[proxy + ", 100 calls/s"], ("0.200× (0.200 / 1.000 ms)", "met"))
        self.assertEqual(rows[proxy + ", 500 calls/s"][1], "no ratio")
        self.assertEqual(rows[topos + ", 100 calls/s"],
                         ("0.067× (0.200 / 3.000 ms)", "**not met**"))
        self.assertEqual(rows[topos + ", 500 calls/s"], ("0.045× (0.090 / 2.000 ms)", "met"))
        self.assertFalse(any("20,000" in k for k in rows), "a loadgen step has no peer to compare")


if __name__ == "__main__":
    unittest.main()
