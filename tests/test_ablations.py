"""recipes/ablations.py at toy size: pre-training two objectives, fine-tuning, the
table and plots; killed in the middle of fine-tuning and rerun, it resumes and
repeats no finished run."""

import os
import re
import signal
import subprocess

import pytest

from tests.conftest import shared_data
from tests.test_recipes import REPO, recipe_command, run_recipe

# Both spawn recipes on the backend they name; both go to the pass of the other recipes
# (make test balances its passes by these marks).
pytestmark = pytest.mark.backend_independent
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def small_text(tmp_path_factory):
    """The first ~60 KB of a real Wikipedia file (whole documents): quick to learn a
    vocabulary from and to tokenize."""
    text = shared_data("wikipedia-sample", "enwiki-AA-wiki_00.txt").read_text(encoding="utf-8")
    cut = text.index("</doc>", 60_000) + len("</doc>\n")
    path = tmp_path_factory.mktemp("text") / "wiki.txt"
    path.write_text(text[:cut], encoding="utf-8")
    return path


@pytest.mark.spawns_recipes
def test_a_killed_ablation_run_resumes_and_repeats_no_finished_run(tmp_path, small_text):
    flags = (f"--text_pattern={small_text}", "--vocabulary_size=400", "--pretrain_steps=2",
             "--snapshots=1", "--pretrain_batch_size=4", "--pretrain_sequence_length=32",
             "--heldout_batches=1", "--max_train_examples=8", "--max_eval_examples=8",
             "--epochs=1", "--seeds=1", "--variants=mlm_nsp,ltr,ltr_bilstm",
             "--tasks=mrpc,squad", "--sequence_length=32", "--squad_sequence_length=48",
             "--curve_task=mrpc", f"--output_dir={tmp_path}")
    command, env = recipe_command("ablations", "torch", *flags)
    job = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen = []
    for line in job.stdout:
        seen.append(line)
        if "[1/5] mlm_nsp mrpc seed 0" in line:  # the first fine-tuning run's result is written
            os.killpg(job.pid, signal.SIGKILL)
            break
    job.wait(timeout=600)
    first = "".join(seen)
    assert job.returncode == -signal.SIGKILL, first[-3000:]
    for model in ("tiny_mlm_nsp", "tiny_ltr"):
        assert f"pre-training {model}: 2 steps" in first
        assert (tmp_path / "heldout" / model / "step-2.json").is_file()
    done = tmp_path / "finetune" / "mlm_nsp" / "mrpc" / "seed-0.json"
    written = done.stat().st_mtime_ns
    assert not (tmp_path / "ablations.md").exists()

    out = run_recipe("ablations", "torch", *flags)
    assert "pre-training tiny_mlm_nsp: done before" in out
    assert "pre-training tiny_ltr: done before" in out
    assert "vocabulary: learnt before" in out
    assert "[1/5]" not in out and "fine-tuning: 1 of 5 runs done before, not repeated" in out
    for label in ("[2/5] mlm_nsp squad", "[3/5] ltr mrpc", "[4/5] ltr squad",
                  "[5/5] ltr_bilstm squad", "[curve 1/2] mlm_nsp step 2 mrpc",
                  "[curve 2/2] ltr step 2 mrpc"):
        assert label in out, out[-3000:]
    assert done.stat().st_mtime_ns == written
    table = (tmp_path / "ablations.md").read_text(encoding="utf-8")
    row = re.search(r"^\| MLM \+ NSP \(BERT-Tiny L2/H128\) \| ([\d.]+) \| ([\d.]+) \|$", table,
                    re.MULTILINE)
    assert row and 0 <= float(row.group(1)) <= 100, table
    assert re.search(r"^\| LTR, no NSP, \+ BiLSTM \|  \| [\d.]+ \|$", table, re.MULTILINE)
    assert "LTR, no NSP, + BiLSTM > LTR, no NSP on SQuAD (F1):" in table
    # Compute time is the sum over both invocations: the killed one's pieces count too.
    assert re.search(r"^Compute: [\d.]+ h \(\d+ min\), the sum of 12 timed pieces", table,
                     re.MULTILINE), table
    for plot in ("heldout_accuracy.png", "figure5.png"):
        assert (tmp_path / plot).read_bytes()[:8] == PNG
        assert f"]({plot})" in table


@pytest.mark.spawns_recipes
def test_feature_based_ner_writes_table7_and_repeats_no_row(tmp_path, tiny_preset):
    flags = (tiny_preset, "--rows=fine_tuned,weighted_all", "--max_train_examples=16",
             "--max_eval_examples=16", "--epochs=1", "--sequence_length=32",
             "--bilstm_units=8", f"--output_dir={tmp_path}")
    out = run_recipe("feature_based_ner", "torch", *flags)
    for i, row in enumerate(("fine_tuned", "weighted_all"), start=1):
        assert f"[{i}] {row}: dev F1" in out, out[-2000:]
    table = (tmp_path / "table7.md").read_text(encoding="utf-8")
    assert re.search(r"^\| Fine-tuning \| [\d.]+ \| 96\.4 \|$", table, re.MULTILINE), table
    assert re.search(r"^\| Weighted sum, all layers \| [\d.]+ \|  \|$", table, re.MULTILINE)
    assert (tmp_path / "table7.png").read_bytes()[:8] == PNG
    again = run_recipe("feature_based_ner", "torch", *flags)
    assert again.count("done before") == 2 and "s training)" not in again
