"""`benchmarks.serving_load --smoke`: the exported classifier and question answerer,
served from 16 threads at once in a TensorFlow + TF Text process, answer every request
as they do from one thread (1 MB strings, empty and non-ASCII text included)."""

import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.backend_independent  # exports on TensorFlow and serves in a TF-only process
@pytest.mark.spawns_serving
def test_serving_load_smoke_has_no_errors_or_mismatches():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-m", "benchmarks.serving_load", "--smoke"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-3000:])
    results = {r["model"]: r for r in map(json.loads, (
        line for line in done.stdout.splitlines() if line.startswith("{")))}
    assert sorted(results) == ["classifier", "question_answerer"]
    for r in results.values():
        assert r["requests"] == 24 and r["threads"] == 16
        assert r["errors"] == 0 and r["mismatches"] == 0, r
        assert len(r["megabyte_one_thread_ms"]) == 3  # the 1,000,000-character requests ran
