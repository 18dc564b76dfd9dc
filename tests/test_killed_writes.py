"""Writes killed at any moment leave whole files under their final names (issue 25).

Every step of a folder replacement is interrupted in turn (a failing `os.rename`
stands for the kill) and the next read finishes the move; a results file cut
mid-line reads its whole lines and appends after them; then a process writing
every kind of file the library writes (tests/killed_writes_child.py: task preset,
HF checkpoint over the last one, SavedModel over the last version, pre-training
shards, results JSON) is SIGKILLed at random moments, and whatever is there loads.
"""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_bert_repro as kbr
from benchmarks.results import append_record, read_records
from keras_bert_repro.presets import file_io
from tests.conftest import shared_data

REPO = pathlib.Path(__file__).resolve().parents[1]
# make test kills 4 times; KILL_WRITES=50 for a campaign (benchmarks/RESULTS.md).
KILLS = int(os.environ.get("KILL_WRITES", "4"))


def _write(folder, files):
    os.makedirs(folder, exist_ok=True)
    for name, text in files.items():
        pathlib.Path(folder, name).write_text(text)


def _visible(folder):
    return {n: pathlib.Path(folder, n).read_text() for n in file_io.visible_entries(folder)}


@pytest.mark.backend_independent
@pytest.mark.parametrize("mode", ["replace", "update"])
def test_a_folder_replacement_killed_at_any_step_is_finished_by_the_next_read(
        tmp_path, monkeypatch, mode):
    old = {"config.json": "old", "weights.h5": "old", "other.txt": "other"}
    new = {"config.json": "new", "weights.h5": "new", "vocab.txt": "new"}
    expected = new if mode == "replace" else {**old, **new}
    real_rename, step = os.rename, 0
    while True:
        path = tmp_path / f"case{step}"
        _write(path, old)
        calls = []

        def rename(src, dst, calls=calls, limit=step):
            if len(calls) == limit:
                raise KeyboardInterrupt("killed")
            calls.append(dst)
            real_rename(src, dst)

        monkeypatch.setattr(os, "rename", rename)
        try:
            if mode == "replace":
                staging = file_io.new_folder(file_io.STAGING_PREFIX, path)
                _write(staging, new)
                file_io.replace_contents(str(path), staging)
            else:
                with file_io.updating(str(path)) as staging:
                    _write(staging, new)
            finished = True
        except KeyboardInterrupt:
            finished = False
        monkeypatch.setattr(os, "rename", real_rename)
        # A kill before the staged folder was marked complete keeps the old files.
        file_io.finish_replace(str(path))
        assert _visible(path) in (old, expected), (step, _visible(path))
        if step > 0:  # once marked complete, the new contents count as written
            assert _visible(path) == expected, (step, _visible(path))
        leftovers = set(os.listdir(path)) - set(file_io.visible_entries(path))
        assert all(n.startswith(file_io.STAGING_PREFIX) for n in leftovers), leftovers
        if finished:
            break
        step += 1
    assert step >= 5  # every step of the move was interrupted once


@pytest.mark.backend_independent
def test_a_records_file_cut_mid_line_reads_its_whole_lines_and_appends_after_them(
        tmp_path, capsys):
    path = str(tmp_path / "draws.jsonl")
    append_record(path, {"seed": 0})
    append_record(path, {"seed": 1, "text": "caf\u00e9"})
    with open(path, "ab") as f:
        f.write(b'{"seed": 2, "f1"')  # a kill in the middle of a write
    assert read_records(path) == [{"seed": 0}, {"seed": 1, "text": "caf\u00e9"}]
    assert "cut short" in capsys.readouterr().err
    append_record(path, {"seed": 2})
    assert read_records(path) == [{"seed": 0}, {"seed": 1, "text": "caf\u00e9"}, {"seed": 2}]
    assert read_records(str(tmp_path / "missing.jsonl")) == []


def _constant(arrays):
    """The one value every array holds (the child fills a round's weights with one)."""
    values = {float(v) for a in arrays for v in np.unique(a)}
    assert len(values) == 1, f"a mix of writes: {sorted(values)[:4]}"
    return values.pop()


def check_whatever_is_there(out, vocabulary):
    """Every file under a final name is whole; every complete folder loads."""
    found = []
    preset = out / "preset"
    if (preset / "task.json").exists():
        model = kbr.BertClassifier.from_preset(str(preset))
        _constant([keras.ops.convert_to_numpy(w) for w in model.weights])
        found.append("preset")
    elif preset.exists():  # killed before the first write finished: nothing in view
        assert file_io.visible_entries(preset) == [], os.listdir(preset)
    hf = out / "hf"
    if hf.exists() and file_io.visible_entries(hf):
        backbone = kbr.BertBackbone.from_preset(str(hf))
        _constant([keras.ops.convert_to_numpy(w) for w in backbone.weights])
        assert (hf / "vocab.txt").read_text(encoding="utf-8").splitlines() == vocabulary
        found.append("hf")
    export = out / "export" / "1"
    if export.exists():
        served = tf.saved_model.load(str(export)).signatures["serving_default"]
        assert served(text=tf.constant(["a killed write", ""]))["logits"].shape == (2, 2)
        found.append("export")
    shards = sorted((out / "shards").glob("*/pretraining-*.tfrecord"))
    for shard in shards:  # a DataLossError here would be a half shard
        assert sum(1 for _ in tf.data.TFRecordDataset(str(shard))) > 0, shard
    found += ["shards"] * bool(shards)
    if (out / "results.json").exists():
        assert len(json.loads((out / "results.json").read_text())["scores"]) == 20_000
        found.append("results")
    return found


@pytest.mark.backend_independent  # its writer picks TensorFlow: one pass (the first)
def test_writes_killed_at_random_moments_leave_whole_files(tmp_path):
    vocab = shared_data("vocab", "bert-base-uncased-vocab.txt")
    vocabulary = vocab.read_text(encoding="utf-8").splitlines()
    corpus = tmp_path / "corpus.txt"
    with open(shared_data("wikipedia-sample", "enwiki-AA-wiki_00.txt"), encoding="utf-8") as f:
        corpus.write_text(f.read(60_000), encoding="utf-8")
    out = tmp_path / "out"
    env = dict(os.environ, KERAS_BACKEND="tensorflow", PYTHONPATH=str(REPO),
               TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    command = [sys.executable, str(REPO / "tests" / "killed_writes_child.py"), str(out),
               str(vocab), str(corpus)]
    rng = np.random.default_rng(int(time.time()))  # random moments; failures print them
    kills, moments = 0, []
    for attempt in range(KILLS):
        log = tmp_path / f"killed_{attempt}.log"
        with open(log, "w") as f:
            job = subprocess.Popen(command + ["1000"], env=env, stdout=f,
                                   stderr=subprocess.STDOUT)
            deadline, moment = time.monotonic() + 180, None
            while job.poll() is None and time.monotonic() < deadline:
                if moment is None and "ready" in log.read_text():
                    moment = rng.uniform(0.0, 3.0)
                    kill_at = time.monotonic() + moment
                if moment is not None and time.monotonic() >= kill_at:
                    break
                time.sleep(0.005)
            assert job.poll() is None, log.read_text()[-3000:]
            job.send_signal(signal.SIGKILL)
            job.wait()
        kills += 1
        moments.append(round(moment, 2))
        found = check_whatever_is_there(out, vocabulary)
        print(f"kill {attempt}: {moment:.2f} s after ready, whole: {', '.join(found)}")
    # A run after the kills writes a whole round over whatever they left.
    done = subprocess.run(command + ["1"], env=env, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert check_whatever_is_there(out, vocabulary) == [
        "preset", "hf", "export", "shards", "results"], moments
    assert kills == KILLS
