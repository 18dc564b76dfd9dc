"""benchmarks/accelerator.py (issue 18) keeps working: its --smoke run goes through
every row (classifier and pre-training steps; ours and HF; eager and compiled) at
tiny shapes on the CPU, in a process where TensorFlow cannot be imported (as on the
GPU machine), and its report builds RESULTS.md's table from the records."""

import os
import pathlib
import subprocess
import sys

import pytest

from benchmarks.accelerator import report
from benchmarks.results import read_records

REPO = pathlib.Path(__file__).resolve().parents[1]
WITHOUT_TENSORFLOW = """
import runpy, sys
sys.modules["tensorflow"] = sys.modules["tensorflow_text"] = None  # an import would raise
sys.argv = ["benchmarks.accelerator"] + sys.argv[1:]
runpy.run_module("benchmarks.accelerator", run_name="__main__")
"""


@pytest.mark.backend_independent  # its process picks torch: one pass (the first)
def test_the_smoke_run_measures_every_row_and_reports_them(tmp_path):
    out = tmp_path / "accelerator.jsonl"
    env = dict(os.environ, KERAS_BACKEND="torch", PYTHONPATH=str(REPO), CUDA_VISIBLE_DEVICES="")
    done = subprocess.run([sys.executable, "-c", WITHOUT_TENSORFLOW, "--smoke",
                           f"--out={out}"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    records = read_records(str(out))
    rows = {(r["task"], r["side"], r["mode"]) for r in records}
    assert rows == {(task, side, mode) for task in ("classifier", "pretraining")
                    for side in ("ours", "hf") for mode in ("eager", "compiled")}
    assert all(r["smoke"] and r["seq_per_s"] > 0 and 0 < r["mfu"] < 1 for r in records)
    lines = report(records).splitlines()
    assert len(lines) == 2 + 8 and lines[0].startswith("| step | side | mode | seq/s")
    # A report is never written from smoke records.
    refused = subprocess.run([sys.executable, "-m", "benchmarks.accelerator", "--report",
                              f"--out={out}"], cwd=REPO, env=env, capture_output=True,
                             text=True, timeout=120)
    assert refused.returncode != 0 and "smoke runs are left out" in refused.stderr
