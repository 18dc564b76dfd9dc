"""benchmarks/pretraining_plot.py reads the curves that benchmarks/pretraining.py
writes into RESULTS.md: the right runs (backend, steps), labels naming ours'
objective and the seed, and a PNG."""

import pytest

from benchmarks import pretraining_plot

pytestmark = pytest.mark.backend_independent


def section(title, command, rows):
    return (f"<!-- {title}:start -->\n## {title}\n\n`{command}` (date)\n\ntext\n\n"
            "| model | a | b | held-out MLM acc after each quarter of the steps | c |\n"
            "|---|---:|---:|---:|---:|\n" + "".join(f"| {r} |\n" for r in rows)
            + f"<!-- {title}:end -->\n")


TEXT = "".join([
    section("Pre-training BERT-Tiny (tensorflow)",
            "KERAS_BACKEND=tensorflow python -m benchmarks.pretraining --steps=2000 --lr=0.001",
            ["ours | 10.3 | 6.6 | 11.2 / 12.6 / 13.7 / 13.9 | 11.8",
             "keras-hub | 10.3 | 6.5 | 11.0 / 12.1 / 13.9 / 14.3 | 12.5"]),
    section("Pre-training BERT-Tiny (tensorflow, ours mlm, seed 1)",
            "KERAS_BACKEND=tensorflow python -m benchmarks.pretraining --steps=2000 "
            "--objective=mlm --seed=1",
            ["ours | 10.3 | 6.6 | 1 / 2 / 3 / 4 | 11.8",
             "keras-hub | 10.3 | 6.5 | 5 / 6 / 7 / 8 | 1"]),
    section("Pre-training BERT-Tiny (tensorflow, seed 2)",  # other steps: left out
            "KERAS_BACKEND=tensorflow python -m benchmarks.pretraining --steps=20000 --seed=2",
            ["ours | 10.3 | 6.6 | 9 / 9 / 9 / 9 | 11.8"]),
    section("Pre-training BERT-Tiny (tensorflow, keras-hub on instances)",
            "KERAS_BACKEND=tensorflow python -m benchmarks.pretraining --steps=2000 "
            "--keras_hub_data=instances",
            ["ours | 10.3 | 6.6 | 11 / 12 / 13 / 14 | 11.8",
             "keras-hub | 10.3 | 6.5 | 12 / 13 / 14 / 15 | 1"]),
    section("Pre-training BERT-Tiny (jax)",  # other backend, and one value: left out
            "KERAS_BACKEND=jax python -m benchmarks.pretraining --steps=2000",
            ["ours | 10.3 | 7.0 | 9.6 | 6.9"]),
])


def test_reads_the_runs_of_one_backend_and_step_count():
    assert pretraining_plot.runs(TEXT, "tensorflow", 2000) == [
        ("ours, mlm_nsp, seed 0", [11.2, 12.6, 13.7, 13.9]),
        ("keras-hub, seed 0", [11.0, 12.1, 13.9, 14.3]),
        ("ours, mlm, seed 1", [1.0, 2.0, 3.0, 4.0]),
        ("keras-hub, seed 1 (beside ours mlm)", [5.0, 6.0, 7.0, 8.0]),
        ("ours, mlm_nsp, seed 0", [11.0, 12.0, 13.0, 14.0]),
        ("keras-hub on ours' batches, seed 0", [12.0, 13.0, 14.0, 15.0]),
    ]
    assert pretraining_plot.runs(TEXT, "jax", 2000) == []


def test_plots_a_png(tmp_path):
    path = tmp_path / "curves.png"
    pretraining_plot.plot(pretraining_plot.runs(TEXT, "tensorflow", 2000), 2000, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_gaps_pair_each_ours_curve_with_the_keras_hub_curve_beside_it():
    gaps = pretraining_plot.gaps(pretraining_plot.runs(TEXT, "tensorflow", 2000))
    assert gaps.keys() == {"ours, mlm_nsp - keras-hub", "ours, mlm - keras-hub",
                           "ours, mlm_nsp - keras-hub on ours' batches"}
    assert [round(v, 6) for v in gaps["ours, mlm_nsp - keras-hub"][0]] == [0.2, 0.5, -0.2, -0.4]
    assert gaps["ours, mlm - keras-hub"] == [[-4.0, -4.0, -4.0, -4.0]]
    assert gaps["ours, mlm_nsp - keras-hub on ours' batches"] == [[-1.0, -1.0, -1.0, -1.0]]


def test_distinct_drops_a_rerun_on_the_same_batches_but_keeps_other_seeds():
    curves = [("ours, mlm_nsp, seed 0", [1.0, 2.0]),
              ("keras-hub on ours' batches, seed 0", [3.0, 4.0]),
              ("ours, mlm, seed 0", [5.0, 6.0]),
              ("keras-hub on ours' batches, seed 0 (beside ours mlm)", [3.0, 4.0]),
              ("ours, mlm_nsp, seed 0", [1.0, 2.0]),
              ("keras-hub, seed 0", [3.0, 4.0]),
              ("ours, mlm_nsp, seed 1", [1.0, 2.0])]
    assert pretraining_plot.distinct(curves) == [
        ("ours, mlm_nsp, seed 0", [1.0, 2.0]),
        ("keras-hub on ours' batches, seed 0", [3.0, 4.0]),
        ("ours, mlm, seed 0", [5.0, 6.0]),
        ("keras-hub, seed 0", [3.0, 4.0]),
        ("ours, mlm_nsp, seed 1", [1.0, 2.0])]
