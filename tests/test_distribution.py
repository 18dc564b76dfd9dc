"""Distribution: MirroredStrategy over two logical CPUs, MultiWorkerMirroredStrategy
over two worker processes and JAX data parallel over two host devices each train a
tiny BertPretrainer as one device does on the same global batch (same losses, same
weights to 1e-5); a `pretrain_tpu.py` killed mid-run resumes from its last
checkpoint when rerun and ends with a loadable preset.

Every check runs in subprocesses with their own backend and device setup (which
must precede the framework's start), so the tests are backend_independent. This
file is also their script: `python tests/test_distribution.py <role> <out_dir>`.
"""

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from keras_bert_repro.presets.file_io import read_arrays

REPO = pathlib.Path(__file__).resolve().parents[1]
# The tiny model and synthetic batches every role trains on.
VOCAB, SEQ, P, GLOBAL_BATCH, STEPS = 512, 32, 5, 8, 3
# Same math on other devices: float32 sums in another order, then three Adam steps.
ATOL, RTOL = 1e-5, 1e-4
TIMEOUT = 240  # seconds per subprocess: a hung collective fails the test, not CI


# === The roles run in subprocesses ==================================================
def _tiny_pretrainer(distribution):
    """A 2-layer BertPretrainer with fixed weights (the same in every process), compiled
    with the recipe's optimizer (AdamW, warm-up, global-norm clipping 1.0)."""
    import keras_bert_repro as kbr
    from keras_bert_repro.training import bert_adamw

    with distribution.scope():
        backbone = kbr.BertBackbone(vocabulary_size=VOCAB, num_layers=2, num_heads=2,
                                    hidden_dim=32, intermediate_dim=64,
                                    max_sequence_length=SEQ, dropout=0.0)
        model = kbr.BertPretrainer(backbone)
        rng = np.random.default_rng(0)
        for variable in model.weights:
            shape = tuple(variable.shape)
            value = (np.ones(shape) if "gamma" in variable.path
                     else rng.normal(0.0, 0.02 if len(shape) > 1 else 0.01, shape))
            variable.assign(value.astype("float32"))
        optimizer = bert_adamw(1e-3, total_steps=STEPS + 1, warmup_steps=1)
        model.compile(optimizer=distribution.prepare_optimizer(optimizer))
    return model


def _batches():
    """`STEPS` global batches of masked (x, y, sample_weight), rows of varied length.
    Every row has `P` real predictions, so each replica's share of a batch carries the
    same MLM weight and the mean of per-replica means is the global mean."""
    import tensorflow as tf

    rng = np.random.default_rng(1)
    rows = STEPS * GLOBAL_BATCH
    lengths = rng.integers(SEQ // 2, SEQ + 1, rows)
    position = np.arange(SEQ)[None, :]
    padding_mask = (position < lengths[:, None]).astype("int32")
    token_ids = rng.integers(5, VOCAB, (rows, SEQ)).astype("int32") * padding_mask
    segment_ids = ((position >= lengths[:, None] // 2) * padding_mask).astype("int32")
    mask_positions = np.stack([np.sort(rng.choice(np.arange(1, n - 1), P, replace=False))
                               for n in lengths]).astype("int32")
    x = {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask,
         "mask_positions": mask_positions}
    y = {"mlm": rng.integers(5, VOCAB, (rows, P)).astype("int32"),
         "nsp": rng.integers(0, 2, rows).astype("int32")}
    weights = {"mlm": np.ones((rows, P), "float32"), "nsp": np.ones(rows, "float32")}
    return tf.data.Dataset.from_tensor_slices((x, y, weights)).batch(GLOBAL_BATCH)


def _train(distribution, path):
    """Trains `STEPS` steps; saves the loss after each step and the weights to `path`."""
    import keras

    model = _tiny_pretrainer(distribution)
    initial = [keras.ops.convert_to_numpy(v) for v in model.weights]
    running = []  # Keras logs the running mean of the epoch's losses
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: running.append(float(logs["loss"])))
    model.fit(_batches(), epochs=1, steps_per_epoch=STEPS, verbose=0, callbacks=[record])
    losses = [(k + 1) * m - k * prev for k, (m, prev) in enumerate(zip(running, [0] + running))]
    weights = [keras.ops.convert_to_numpy(v) for v in model.weights]
    np.savez(path, losses=np.array(losses), replicas=distribution.num_replicas,
             iterations=int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
             moved=max(float(np.abs(w - w0).max()) for w, w0 in zip(weights, initial)),
             **{f"w{i}": w for i, w in enumerate(weights)})
    return model


def _role_tf_mirrored(out):
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from keras_bert_repro.training import select_distribution

    _train(select_distribution("one_device"), out / "one_device.npz")
    _train(select_distribution("mirrored"), out / "mirrored.npz")


def _role_tf_worker(out):
    from keras_bert_repro.training import select_distribution

    distribution = select_distribution("multi_worker")
    _train(distribution, out / f"worker{distribution.worker_index}.npz")
    # The rows of the first global batch this worker computes on, as `fit` splits it.
    first = next(iter(distribution.tf_strategy.experimental_distribute_dataset(_batches())))
    local = distribution.tf_strategy.experimental_local_results(first[0]["token_ids"])
    with open(out / f"worker{distribution.worker_index}.json", "w") as f:
        json.dump({"is_chief": distribution.is_chief,
                   "rows": [row.tolist() for part in local for row in part.numpy()]}, f)
    if distribution.worker_index == 0:  # then the reference: this process alone, one device
        _train(select_distribution("one_device"), out / "one_device.npz")


def _role_jax(out):
    import jax

    from keras_bert_repro.training import select_distribution

    assert len(jax.devices()) == 2, jax.devices()
    _train(select_distribution("one_device"), out / "one_device.npz")
    model = _train(select_distribution("auto"), out / "data_parallel.npz")
    devices = {len(v.value.sharding.device_set) for v in model.weights}
    with open(out / "jax.json", "w") as f:
        json.dump({"weight_devices": sorted(devices)}, f)


ROLES = {"tf-mirrored": _role_tf_mirrored, "tf-worker": _role_tf_worker, "jax": _role_jax}


# === Helpers of the tests ===========================================================
def _env(backend, **extra):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2",
               CUDA_VISIBLE_DEVICES="", NO_PROXY="127.0.0.1,localhost",
               no_proxy="127.0.0.1,localhost", PYTHONPATH=str(REPO))
    for name in ("TF_CONFIG", "XLA_FLAGS", "http_proxy", "https_proxy", "HTTP_PROXY",
                 "HTTPS_PROXY", "grpc_proxy"):
        env.pop(name, None)
    env.update(extra)
    return env


def _start(role, out, env):
    return subprocess.Popen([sys.executable, __file__, role, str(out)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_all(processes):
    """Waits for all; on a failure or timeout kills the rest and fails with the output."""
    deadline = time.monotonic() + TIMEOUT
    outputs = []
    try:
        for process in processes:
            output, _ = process.communicate(timeout=max(1, deadline - time.monotonic()))
            outputs.append(output)
            if process.returncode != 0:
                pytest.fail(f"{process.args[2:]} exited {process.returncode}:\n{output[-4000:]}")
    except subprocess.TimeoutExpired:
        pytest.fail(f"subprocesses still running after {TIMEOUT}s")
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return outputs


def _load(path):
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def _assert_same_training(run, reference, replicas):
    """Same losses at every step and same weights after them, and the weights moved."""
    assert int(run["replicas"]) == replicas
    assert int(run["iterations"]) == int(reference["iterations"]) == STEPS
    assert np.all(np.isfinite(run["losses"])) and len(run["losses"]) == STEPS
    np.testing.assert_allclose(run["losses"], reference["losses"], atol=ATOL, rtol=RTOL)
    names = sorted(k for k in reference if k.startswith("w"))
    assert names == sorted(k for k in run if k.startswith("w"))
    worst = max(float(np.abs(run[k] - reference[k]).max()) for k in names)
    assert worst <= ATOL, f"weights differ by up to {worst:.2e}"
    # Steps 2 and 3 have a learning rate > 0: the comparison is not of untouched weights.
    assert float(run["moved"]) > 1e-4, f"training moved no weight ({float(run['moved']):.1e})"


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


# === Tests ==========================================================================
@pytest.mark.backend_independent
@pytest.mark.spawns_training  # tiny pre-training runs in subprocesses
def test_mirrored_strategy_on_two_logical_cpus_matches_one_device(tmp_path):
    _wait_all([_start("tf-mirrored", tmp_path, _env("tensorflow"))])
    one, mirrored = _load(tmp_path / "one_device.npz"), _load(tmp_path / "mirrored.npz")
    assert int(one["replicas"]) == 1
    _assert_same_training(mirrored, one, replicas=2)


@pytest.mark.backend_independent
@pytest.mark.spawns_training  # tiny pre-training runs in subprocesses
def test_multi_worker_mirrored_strategy_matches_one_process(tmp_path):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    workers = [_start("tf-worker", tmp_path, _env("tensorflow", TF_CONFIG=json.dumps(
        {"cluster": cluster, "task": {"type": "worker", "index": index}})))
        for index in range(2)]
    _wait_all(workers)
    one = _load(tmp_path / "one_device.npz")  # worker 0's process, alone, after the cluster run
    runs = [_load(tmp_path / f"worker{index}.npz") for index in range(2)]
    roles = [json.loads((tmp_path / f"worker{index}.json").read_text()) for index in range(2)]
    assert [r["is_chief"] for r in roles] == [True, False]
    # Each worker computes on half of each global batch, the two halves on all of it.
    first_batch = next(iter(_batches()))[0]["token_ids"].numpy().tolist()
    assert [len(r["rows"]) for r in roles] == [GLOBAL_BATCH // 2] * 2
    assert sorted(roles[0]["rows"] + roles[1]["rows"]) == sorted(first_batch)
    # The workers hold one model: bit-for-bit the same losses and weights.
    for key in runs[0]:
        np.testing.assert_array_equal(runs[0][key], runs[1][key], err_msg=key)
    _assert_same_training(runs[0], one, replicas=2)


@pytest.mark.backend_independent
def test_jax_data_parallel_on_two_host_devices_matches_one_device(tmp_path):
    env = _env("jax", XLA_FLAGS="--xla_force_host_platform_device_count=2")
    _wait_all([_start("jax", tmp_path, env)])
    one, parallel = _load(tmp_path / "one_device.npz"), _load(tmp_path / "data_parallel.npz")
    assert int(one["replicas"]) == 1
    # The weights live on both devices (replicated), so the batch was split over them.
    assert json.loads((tmp_path / "jax.json").read_text())["weight_devices"] == [2]
    _assert_same_training(parallel, one, replicas=2)


def _pretraining_records(out):
    """A TFRecord shard of next-sentence instances (length 64) from one Wikipedia file."""
    from keras_bert_repro.data.pretraining import create_pretraining_data
    from keras_bert_repro.text.tokenizer import BertTokenizer

    text, vocab = _shared("wikipedia-sample", "enwiki-AA-wiki_00.txt"), _vocab()
    stats = create_pretraining_data(str(text), str(out), BertTokenizer(str(vocab)),
                                    max_seq_length=64, dupe_factor=1, num_workers=1,
                                    progress=False)
    assert stats.instances > 1000
    return f"{out}/*.tfrecord"


def _shared(*parts):
    from tests.conftest import shared_data  # fails loudly when ../shared/data is missing

    return shared_data(*parts)


def _vocab():
    return _shared("vocab", "bert-base-uncased-vocab.txt")


# make test kills twice (one kill inside a checkpoint write); KILLS=6 for a campaign
# (benchmarks/RESULTS.md, "Reliability").
KILLS = int(os.environ.get("KILLS", "2"))


def _run_until_killed(command, log_path, checkpoints, rng, inside_write):
    """Starts the run and SIGKILLs it: inside a checkpoint write (as soon as a temporary
    weights file appears) or after a random delay once it trains; returns whether it
    was killed (False: it finished first)."""
    with open(log_path, "w") as log:
        job = subprocess.Popen(command, cwd=REPO, env=_env("tensorflow"), stdout=log,
                               stderr=subprocess.STDOUT)
        deadline, delay = time.monotonic() + TIMEOUT, None
        while job.poll() is None and time.monotonic() < deadline:
            if inside_write:
                if any(p.name.endswith(".tmp.weights.h5") for p in checkpoints.glob("*")):
                    break
            elif "phase:" in pathlib.Path(log_path).read_text():
                delay = delay or time.monotonic() + rng.uniform(0.5, 5.0)
                if time.monotonic() > delay:
                    break
            time.sleep(0.005)
        killed = job.poll() is None
        job.send_signal(signal.SIGKILL)
        job.wait()
    return killed


# Not spawns_training: make test's middle pass holds the other pre-training runs; this
# one (the longest of them) goes with the recipes to the last pass, which ended 260 s
# before the first in a fresh-clone CI run once the recipe tests used a small preset.
@pytest.mark.backend_independent
@pytest.mark.spawns_recipes
def test_killed_pretraining_resumes_exactly_as_an_unbroken_run(tmp_path):
    """SIGKILLs at random points (one inside a checkpoint write); each rerun resumes
    from the last checkpoint, and the run ends with the same weights and optimizer
    state, bit for bit, as one never stopped (same seed)."""
    import keras

    import keras_bert_repro as kbr
    from keras_bert_repro.training import StepCheckpoint

    total, every = 10, 5
    records = _pretraining_records(tmp_path / "data")

    def command(out):
        return [sys.executable, "recipes/pretrain_tpu.py", "--strategy=one_device",
                f"--input_pattern={records}", f"--vocab_file={_vocab()}",
                "--model_size=tiny", "--global_batch_size=8", "--max_seq_length=64",
                "--max_predictions_per_seq=10", f"--num_train_steps={total}",
                f"--checkpoint_every={every}", "--warmup_steps=4", "--learning_rate=1e-3",
                f"--output_dir={out}"]

    unbroken = subprocess.run(command(tmp_path / "unbroken"), cwd=REPO, env=_env("tensorflow"),
                              capture_output=True, text=True, timeout=TIMEOUT)
    assert unbroken.returncode == 0, (unbroken.stdout + unbroken.stderr)[-3000:]

    out = tmp_path / "run"
    checkpoints, state = out / "checkpoints", out / "checkpoints" / "checkpoint.json"
    rng = np.random.default_rng(int(time.time()))  # random points; failures print them
    kills, saved_steps = 0, []
    for attempt in range(KILLS):
        log = tmp_path / f"killed_{attempt}.log"
        if _run_until_killed(command(out), log, checkpoints, rng, inside_write=attempt == 0):
            kills += 1
            saved = json.loads(state.read_text())["step"] if state.exists() else 0
            assert saved % every == 0 and saved < total, log.read_text()[-3000:]
            saved_steps.append(saved)
            # Whatever the kill interrupted, the named checkpoint is whole.
            if saved:
                weights = checkpoints / json.loads(state.read_text())["weights"]
                assert read_arrays(weights)
    final = subprocess.run(command(out), cwd=REPO, env=_env("tensorflow"), capture_output=True,
                           text=True, timeout=TIMEOUT)
    log = final.stdout + final.stderr
    assert final.returncode == 0, log[-3000:]
    assert kills >= 1, f"no run was killed before it finished (saved: {saved_steps})"
    if saved_steps and saved_steps[-1]:
        assert f"resuming at step {saved_steps[-1]}" in log
        assert f"Epoch {saved_steps[-1] // every}/" not in log  # no checkpointed step redone
    assert f"Epoch {total // every}/{total // every}" in log
    # The run ends at the requested step, equal to the unbroken run bit for bit.
    assert json.loads(state.read_text())["step"] == total
    assert sorted(p.name for p in checkpoints.glob("*.h5")) == [f"checkpoint-{total}.weights.h5"]
    ours = read_arrays(checkpoints / f"checkpoint-{total}.weights.h5")
    theirs = read_arrays(tmp_path / "unbroken" / "checkpoints" / f"checkpoint-{total}.weights.h5")
    assert sorted(ours) == sorted(theirs)
    different = [name for name in ours if not np.array_equal(ours[name], theirs[name])]
    assert different == [], f"kills at steps {saved_steps}: {different[:5]} differ"
    history = json.loads((out / "history.json").read_text())["history"]
    assert [h["step"] for h in history] == list(range(every, total + every, every))
    unbroken_history = json.loads((tmp_path / "unbroken" / "history.json").read_text())["history"]
    assert [h["loss"] for h in history] == [h["loss"] for h in unbroken_history]
    # The preset loads, and holds the encoder of the final checkpoint.
    backbone = kbr.BertBackbone.from_preset(str(out / "preset"))
    assert (backbone.num_layers, backbone.hidden_dim) == (2, 128)
    preset_weights = [np.array(w) for w in backbone.get_weights()]
    model = kbr.BertPretrainer(backbone)
    assert StepCheckpoint(str(checkpoints)).restore(model) == total
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == total
    for ours_weight, final_weight in zip(preset_weights, backbone.get_weights()):
        np.testing.assert_array_equal(ours_weight, final_weight)
    print(f"kills: {kills}, checkpoints they resumed from: {saved_steps}")
    # ... and fine-tunes on raw text like any released checkpoint.
    classifier = kbr.BertClassifier.from_preset(str(out / "preset"), num_classes=2,
                                                sequence_length=32)
    for ours, loaded in zip(preset_weights, classifier.backbone.get_weights()):
        np.testing.assert_array_equal(ours, loaded)
    texts = ["the film was good", "it was bad", "a fine cast", "dull and long"] * 2
    history = classifier.fit(texts, np.array([1, 0, 1, 0] * 2), batch_size=4, epochs=2,
                             verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert classifier.predict(texts[:3], verbose=0).shape == (3, 2)


if __name__ == "__main__":
    ROLES[sys.argv[1]](pathlib.Path(sys.argv[2]))


@pytest.mark.backend_independent
@pytest.mark.spawns_training
def test_pretraining_exports_a_bert_for_pretraining_that_predicts_our_token_ids(
        tmp_path, minilm_dir):
    """`--export_format=hf`: the trained BERT-Tiny's MLM and NSP heads, in HF's layout."""
    import torch
    import transformers

    import keras_bert_repro as kbr
    from keras_bert_repro.training import StepCheckpoint

    out = tmp_path / "run"
    common = [sys.executable, "recipes/pretrain_tpu.py", "--strategy=one_device",
              f"--input_pattern={_pretraining_records(tmp_path / 'data')}",
              "--global_batch_size=8", "--max_seq_length=64", "--max_predictions_per_seq=10",
              "--num_train_steps=5", "--checkpoint_every=2", "--warmup_steps=1",
              "--learning_rate=1e-3"]
    # A layout the starting model cannot go to is refused before any step.
    refused = subprocess.run(common + [f"--preset={minilm_dir}", "--export_format=google",
                                       f"--output_dir={tmp_path / 'refused'}"],
                             cwd=REPO, env=_env("tensorflow"), capture_output=True, text=True,
                             timeout=TIMEOUT)
    assert refused.returncode == 2, refused.stderr[-2000:]
    assert "--export_format=google: The google layout computes GELU's tanh" in refused.stderr
    assert not (tmp_path / "refused" / "checkpoints").exists()

    done = subprocess.run(common + [f"--vocab_file={_vocab()}", "--model_size=tiny",
                                    "--export_format=hf", f"--output_dir={out}"],
                          cwd=REPO, env=_env("tensorflow"), capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert "preset -> " + str(out / "preset_hf") in done.stdout
    model = kbr.BertPretrainer(kbr.BertBackbone.from_preset(str(out / "preset")))
    # --checkpoint_every need not divide the steps: checkpoints at 2, 4 and the last, 5.
    assert StepCheckpoint(str(out / "checkpoints")).restore(model) == 5
    history = json.loads((out / "history.json").read_text())["history"]
    assert [h["step"] for h in history] == [2, 4, 5]
    hf = transformers.BertForPreTraining.from_pretrained(str(out / "preset_hf")).eval()
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 30000, size=(2, 32)).astype("int32")
    inputs = {"token_ids": ids, "segment_ids": np.zeros_like(ids),
              "padding_mask": np.ones_like(ids),
              "mask_positions": np.tile(np.arange(1, 31, 3, dtype="int32"), (2, 1))}
    with torch.no_grad():
        theirs = hf(input_ids=torch.tensor(ids), token_type_ids=torch.tensor(inputs["segment_ids"]),
                    attention_mask=torch.tensor(inputs["padding_mask"]))
    mlm = np.take_along_axis(theirs.prediction_logits.numpy(),
                             inputs["mask_positions"][..., None], axis=1)
    ours = model(inputs)
    np.testing.assert_array_equal(np.asarray(ours["mlm"]).argmax(-1), mlm.argmax(-1))
    np.testing.assert_allclose(np.asarray(ours["mlm"]), mlm, atol=1e-5)
    np.testing.assert_allclose(np.asarray(ours["nsp"]), theirs.seq_relationship_logits.numpy(),
                               atol=1e-5)


@pytest.mark.backend_independent
def test_pretraining_refuses_records_made_with_another_vocabulary(tmp_path):
    cased = _shared("vocab", "bert-base-cased-vocab.txt")
    done = subprocess.run(
        [sys.executable, "recipes/pretrain_tpu.py", "--strategy=one_device",
         f"--input_pattern={_pretraining_records(tmp_path / 'data')}", f"--vocab_file={cased}",
         "--model_size=tiny", "--num_train_steps=2", f"--output_dir={tmp_path / 'run'}"],
        cwd=REPO, env=_env("tensorflow"), capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "were made with another vocabulary" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.backend_independent
@pytest.mark.spawns_training
def test_a_run_folder_refuses_a_run_with_other_settings(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "recipes/pretrain_tpu.py", "--strategy=one_device",
               f"--input_pattern={_pretraining_records(tmp_path / 'data')}",
               f"--vocab_file={_vocab()}", "--model_size=tiny", "--max_seq_length=64",
               "--max_predictions_per_seq=10", "--num_train_steps=2", "--warmup_steps=1",
               f"--output_dir={out}"]

    def run(*extra):
        return subprocess.run(command + list(extra), cwd=REPO, env=_env("tensorflow"),
                              capture_output=True, text=True, timeout=TIMEOUT)

    first = run("--global_batch_size=8")
    assert first.returncode == 0, first.stderr[-2000:]
    recorded = json.loads((out / "run.json").read_text())["settings"]
    assert recorded["global_batch_size"] == 8 and len(recorded["vocabulary_sha256"]) == 64
    files = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    other = run("--global_batch_size=4")
    assert other.returncode != 0 and "Traceback" not in other.stderr
    assert "holds a run with other settings (global_batch_size: 8 there, 4 now)" in other.stderr
    assert "--overwrite" in other.stderr
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == files
    again = run("--global_batch_size=8")  # the same run: a resume, here of a finished one
    assert again.returncode == 0, again.stderr[-2000:]
    fresh = run("--global_batch_size=4", "--overwrite")
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    assert json.loads((out / "run.json").read_text())["settings"]["global_batch_size"] == 4
