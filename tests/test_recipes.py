"""The fine-tuning recipes end to end on slices of the real data, each in its own
process on a chosen backend (so this file runs in one backend's pass only). They
fine-tune a small random preset (`tiny_preset`) where they test a recipe's mechanics;
the GLUE restarts test starts from the default preset (MiniLM), as a user does."""

import csv
import json
import os
import signal
import subprocess
import sys

import pytest

from tests.conftest import shared_data

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Each recipe runs in a subprocess on the backend it names, whatever the one of pytest.
pytestmark = [pytest.mark.backend_independent, pytest.mark.spawns_recipes]


def recipe_command(name, backend, *flags):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONUNBUFFERED": "1"}
    return [sys.executable, os.path.join("recipes", f"{name}.py"), *flags], env


def start_recipe(name, backend, *flags):
    command, env = recipe_command(name, backend, *flags)
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)


def refused_rerun(name, backend, output_dir, *flags, differs):
    """A rerun into `output_dir` with other settings: one line naming `differs`, exit 2,
    and no file of the earlier run changed."""
    before = {p: p.read_bytes() for p in output_dir.rglob("*") if p.is_file()}
    done = start_recipe(name, backend, *flags, f"--output_dir={output_dir}")
    assert done.returncode == 2, done.stderr[-3000:]
    assert "holds a run with other settings" in done.stderr and differs in done.stderr
    assert "--overwrite" in done.stderr and "Traceback" not in done.stderr
    assert {p: p.read_bytes() for p in output_dir.rglob("*") if p.is_file()} == before


def run_recipe(name, backend, *flags):
    done = start_recipe(name, backend, *flags)
    assert done.returncode == 0, f"{name} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def small_mrpc(tmp_path_factory):
    """GLUE's layout with the first 64 rows of the real MRPC train and dev files: the
    recipe's mechanics without evaluating all 408 dev pairs after every epoch."""
    root = tmp_path_factory.mktemp("glue")
    (root / "MRPC").mkdir()
    for split in ("train", "dev"):
        lines = shared_data("glue", "MRPC", f"{split}.tsv").read_text(
            encoding="utf-8").splitlines(keepends=True)
        (root / "MRPC" / f"{split}.tsv").write_text("".join(lines[:65]), encoding="utf-8")
    return root


def test_glue_restarts_keep_the_best_run_on_dev(tmp_path, small_mrpc):
    out = run_recipe("finetune_glue", "jax", "--task=mrpc", f"--data_dir={small_mrpc}",
                     "--max_train_examples=64", "--epochs=1", "--sequence_length=64",
                     "--restarts=2", "--seed=3", f"--output_dir={tmp_path}", "--save_model")
    results = json.load(open(tmp_path / "results.json"))
    runs = results["runs"]
    assert [r["seed"] for r in runs] == [3, 4] and results["restarts"] == 2
    finals = [r["epochs"][-1]["f1"] for r in runs]
    assert results["best"]["f1"] == max(finals)
    assert results["best"]["seed"] == runs[finals.index(max(finals))]["seed"]
    assert all(0.0 <= r["epochs"][-1]["accuracy"] <= 1.0 for r in runs)
    assert all((tmp_path / f"lr3e-05_seed{s}" / "logs").is_dir() for s in (3, 4))
    assert (tmp_path / "model.keras").is_file()
    assert f"seed={results['best']['seed']}" in out


def test_a_killed_glue_run_resumes_and_keeps_its_history(tmp_path, small_mrpc, tiny_preset):
    """kill -9 after the first epoch; the rerun says it resumes after epoch 1, results.json
    holds both epochs (the first as the killed run measured it); a rerun with other
    settings is refused."""
    flags = ("--task=mrpc", f"--data_dir={small_mrpc}", "--max_train_examples=48",
             "--epochs=2", "--sequence_length=48", "--nosave_model", tiny_preset)
    command, env = recipe_command("finetune_glue", "jax", *flags, f"--output_dir={tmp_path}")
    job = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    seen = []
    for line in job.stdout:
        seen.append(line)
        if "Epoch 2/2" in line:  # epoch 1's record and backup are written by then
            job.send_signal(signal.SIGKILL)
            break
    job.wait(timeout=600)
    assert job.returncode == -signal.SIGKILL, "".join(seen)[-3000:]
    first = json.load(open(tmp_path / "lr3e-05" / "history.json"))
    assert [e["epoch"] for e in first] == [1] and not (tmp_path / "results.json").exists()

    out = run_recipe("finetune_glue", "jax", *flags, f"--output_dir={tmp_path}")
    assert "lr3e-05: resuming after epoch 1" in out and "epoch 1 is kept" in out
    epochs = json.load(open(tmp_path / "results.json"))["runs"][0]["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2] and epochs[0] == first[0]

    refused_rerun("finetune_glue", "jax", tmp_path, *flags, "--learning_rates=5e-5",
                  differs="learning_rates: None there, ['5e-5'] now")
    # (A finished run is not trained again: the SWAG test below shows it.)


def test_glue_restarts_below_one_is_refused(tmp_path):
    done = start_recipe("finetune_glue", "tensorflow", "--restarts=0", f"--output_dir={tmp_path}")
    assert done.returncode != 0 and "restarts" in done.stderr


def test_ner_recipe_reports_entity_scores(tmp_path, tiny_preset):
    run_recipe("finetune_ner", "torch", f"--data_dir={shared_data('conll2003')}", tiny_preset,
               "--max_train_examples=64", "--max_eval_examples=48", "--epochs=1",
               f"--output_dir={tmp_path}", "--write_predictions", "--nosave_model")
    results = json.load(open(tmp_path / "results.json"))
    assert results["train_sentences"] == 64 and len(results["history"]) == 1
    for split in ("dev", "test"):
        assert 0.0 <= results[split]["f1"] <= 1.0
    lines = (tmp_path / "dev_predictions.txt").read_text().strip().split("\n\n")
    assert len(lines) == 48  # one block per sentence, conlleval's layout
    refused_rerun("finetune_ner", "torch", tmp_path, f"--data_dir={shared_data('conll2003')}",
                  tiny_preset, "--max_train_examples=64", "--max_eval_examples=48", "--epochs=1",
                  "--learning_rate=3e-5", differs="learning_rate: 5e-05 there, 3e-05 now")


def test_squad_recipe_answers_are_spans_of_their_contexts(tmp_path, tiny_preset):
    squad_file = shared_data("squad", "dev-v1.1.json")
    out = run_recipe("finetune_squad", "tensorflow", f"--squad_file={squad_file}", tiny_preset,
                     "--max_train_examples=32", "--max_eval_examples=12", "--epochs=1",
                     "--lora_rank=4", "--jit_compile=true", f"--output_dir={tmp_path}",
                     "--nosave_model")
    assert "LoRA rank 4: " in out  # the updates and the span head train, nothing else
    results = json.load(open(tmp_path / "results.json"))
    assert results["train_questions"] == 32 and results["eval_questions"] == 12
    assert 0.0 <= results["metrics"]["f1"] <= 100.0
    contexts = {q["id"]: p["context"] for a in json.load(open(squad_file))["data"]
                for p in a["paragraphs"] for q in p["qas"]}
    predictions = json.load(open(tmp_path / "predictions.json"))
    assert len(predictions) == 12
    assert all(text and text in contexts[qid] for qid, text in predictions.items())
    refused_rerun("finetune_squad", "tensorflow", tmp_path, f"--squad_file={squad_file}",
                  tiny_preset, "--max_train_examples=32", "--max_eval_examples=12", "--epochs=2",
                  "--lora_rank=4", differs="epochs: 1 there, 2 now")


def test_swag_recipe_on_swag_csv_layout(tmp_path, tiny_preset):
    header = ["video-id", "fold-ind", "startphrase", "sent1", "sent2", "gold-source",
              "ending0", "ending1", "ending2", "ending3", "label"]
    rows = [["v", str(i), "", f"Someone opens door number {i}.", "He",
             "gold", "walks in.", "eats the door.", "flies away.", "is a door.", str(i % 4)]
            for i in range(12)]
    for split, part in (("train", rows[:8]), ("val", rows[8:])):
        with open(tmp_path / f"{split}.csv", "w", newline="") as f:
            csv.writer(f).writerows([header, *part])
    flags = (f"--data_dir={tmp_path}", "--epochs=1", "--batch_size=4", "--sequence_length=32",
             "--nosave_model", tiny_preset)
    run_recipe("finetune_swag", "jax", *flags, f"--output_dir={tmp_path / 'out'}")
    results = json.load(open(tmp_path / "out" / "results.json"))
    assert (results["train_examples"], results["dev_examples"]) == (8, 4)
    assert results["accuracy"] in (0.0, 0.25, 0.5, 0.75, 1.0)
    assert [e["epoch"] for e in results["epochs"]] == [1]
    # The same command again: finished, not trained twice; other settings: refused.
    again = run_recipe("finetune_swag", "jax", *flags, f"--output_dir={tmp_path / 'out'}")
    assert "holds this run, finished" in again
    refused_rerun("finetune_swag", "jax", tmp_path / "out", *flags, "--seed=1",
                  differs="seed: 0 there, 1 now")


BAD_FLAGS = [
    ("pretrain_tpu", "--num_train_steps=0", "--num_train_steps=0: 0 is not a positive integer"),
    ("pretrain_tpu", "--num_train_steps=-50", "--num_train_steps=-50"),
    ("pretrain_tpu", "--learning_rate=-1", "the learning rate must be positive"),
    ("pretrain_tpu", "--global_batch_size=0", "--global_batch_size=0"),
    ("pretrain_tpu", "--mask_selection_rate=1.5", "--mask_selection_rate=1.5"),
    ("pretrain_tpu", "--max_seq_length=3", "--max_seq_length=3"),
    ("finetune_glue", "--epochs=-1", "--epochs=-1"),
    ("finetune_glue", "--learning_rates=3e-5,-1", "learning rates are positive numbers"),
    ("finetune_glue", "--batch_size=0", "--batch_size=0"),
    ("finetune_glue", "--task=foo", "--task=foo: value should be one of <cola|sst2"),
    ("finetune_glue", "--feature_based --lora_rank=4", "give one"),
    ("finetune_ner", "--lora_rank=0", "--lora_rank=0"),
    ("finetune_ner", "--learning_rate=0", "the learning rate must be positive"),
    ("finetune_squad", "--train_fraction=2", "--train_fraction=2"),
    ("finetune_swag", "--sequence_length=0", "--sequence_length=0"),
    ("finetune_swag", "--jit_compile=maybe", "--jit_compile=maybe: value should be one of"),
    ("create_pretraining_data", "--dupe_factor=0", "--dupe_factor=0"),
    ("quickstart", "--pretrain_steps=-1", "--pretrain_steps=-1"),
    ("learn_vocabulary", "--vocabulary_size=10", "--vocabulary_size=10"),
]


BAD_PATHS = [
    ("finetune_glue", "--data_dir=/nonexistent", "GLUE file /nonexistent/SST-2/train.tsv not "
     "found"),
    ("finetune_glue", "--preset=/nonexistent", "--preset '/nonexistent' is neither a checkpoint "
     "directory nor a registry name"),
    ("finetune_squad", "--squad_file=/nonexistent.json", "No such file or directory: "
     "'/nonexistent.json'"),
    ("finetune_ner", "--data_dir=/nonexistent", "CoNLL file /nonexistent/train.txt not found"),
]


@pytest.mark.parametrize("recipe,flag,message", BAD_PATHS)
def test_a_missing_path_is_one_line_and_claims_no_output_dir(recipe, flag, message, tmp_path):
    """Not a traceback, exit 2, and no run.json left to refuse the corrected rerun."""
    done = start_recipe(recipe, "tensorflow", flag, f"--output_dir={tmp_path / 'out'}")
    assert done.returncode == 2, done.stderr[-2000:]
    assert message in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("recipe,flag,message", BAD_FLAGS)
def test_a_bad_number_stops_the_recipe_before_any_work_in_one_line(recipe, flag, message,
                                                                     tmp_path):
    output = "--output" if recipe == "learn_vocabulary" else "--output_dir"
    done = start_recipe(recipe, "tensorflow", *flag.split(), f"{output}={tmp_path / 'out'}",
                        *(["--input_pattern=x"] if recipe == "learn_vocabulary" else []))
    assert done.returncode != 0
    assert message in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("recipe", ["pretrain_tpu", "finetune_glue", "export_serving"])
def test_help_exits_zero_and_lists_the_recipes_flags(recipe):
    done = start_recipe(recipe, "tensorflow", "--help")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "--output" in done.stdout and "Traceback" not in done.stderr


def test_too_long_sequences_for_the_position_table_are_one_line(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("one sentence here.\nanother one there.\n\nnext document.\n")
    done = start_recipe("pretrain_tpu", "tensorflow", f"--text_pattern={corpus}",
                        f"--vocab_file={shared_data('vocab', 'bert-base-uncased-vocab.txt')}",
                        "--model_size=tiny", "--max_seq_length=1024", "--num_train_steps=2",
                        f"--output_dir={tmp_path / 'out'}")
    assert done.returncode == 2, done.stderr[-2000:]
    assert "sequence length 1024 exceeds the model's position table (512)" in done.stderr
    assert "Traceback" not in done.stderr


def test_learn_vocabulary_writes_a_vocabulary_the_tokenizer_reads(tmp_path):
    lines = shared_data("wikipedia-sample", "enwiki-AA-wiki_00.txt").read_text(
        encoding="utf-8").splitlines()[:400]
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(lines), encoding="utf-8")
    vocab = tmp_path / "vocab.txt"
    out = run_recipe("learn_vocabulary", "tensorflow", f"--input_pattern={corpus}",
                     f"--output={vocab}", "--vocabulary_size=600", "--num_unused=9")
    tokens = vocab.read_text(encoding="utf-8").splitlines()
    assert tokens[:1] == ["[PAD]"] and tokens[10:14] == ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert 400 < len(tokens) <= 700 and len(set(tokens)) == len(tokens)
    assert f"vocabulary -> {vocab}" in out
    again = start_recipe("learn_vocabulary", "tensorflow", f"--input_pattern={corpus}",
                         f"--output={vocab}")
    assert again.returncode == 2 and "exists; pass --overwrite" in again.stderr
    assert vocab.read_text(encoding="utf-8").splitlines() == tokens



def test_export_never_replaces_a_version_without_overwrite(tmp_path):
    version = tmp_path / "sst2" / "1"
    version.mkdir(parents=True)
    (version / "saved_model.pb").write_bytes(b"a served model")
    done = start_recipe("export_serving", "tensorflow", f"--model={tmp_path / 'm.keras'}",
                        f"--output={version}")
    assert done.returncode != 0 and "holds an export already" in done.stderr
    assert "--overwrite" in done.stderr and "Traceback" not in done.stderr
    assert (version / "saved_model.pb").read_bytes() == b"a served model"


def test_pretraining_data_reruns_resume_or_refuse_in_one_line(tmp_path):
    """A rerun with other settings names them and leaves the shards alone; --overwrite
    starts over. WikiText read as paragraphs (its articles the documents) gets no NSP
    warning."""
    text = shared_data("wikitext-2", "wiki.valid.tokens").read_text(encoding="utf-8")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(text.splitlines()[:300]), encoding="utf-8")
    out = tmp_path / "shards"
    flags = (f"--input_pattern={corpus}", f"--output_dir={out}", "--format=paragraphs",
             f"--vocab_file={shared_data('vocab', 'bert-base-uncased-vocab.txt')}",
             "--num_workers=1")
    done = start_recipe("create_pretraining_data", "tensorflow", *flags, "--dupe_factor=1")
    assert done.returncode == 0 and "next sentences are random" not in done.stderr, done.stderr
    before = {p: p.read_bytes() for p in out.iterdir()}
    again = start_recipe("create_pretraining_data", "tensorflow", *flags, "--dupe_factor=2")
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "dupe_factor: 1 there, 2 now" in again.stderr and "--overwrite" in again.stderr
    assert {p: p.read_bytes() for p in out.iterdir()} == before
    fresh = start_recipe("create_pretraining_data", "tensorflow", *flags, "--dupe_factor=2",
                         "--overwrite")
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    assert json.loads((out / "pretraining_data.json").read_text())["dupe_factor"] == 2
