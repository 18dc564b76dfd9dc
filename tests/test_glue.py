"""GLUE readers against the shared data's documented counts; metrics on hand-computed cases."""

import numpy as np
import pytest
import scipy.stats
import tensorflow as tf

from keras_bert_repro.data import get_task, read_glue
from keras_bert_repro.evaluation import accuracy, f1, glue_metrics, matthews_corrcoef, pearson, spearman
from tests.conftest import shared_data

# Pure TF / numpy: the same on every Keras backend, so `make test` runs it once.
pytestmark = pytest.mark.backend_independent


@pytest.fixture(scope="module")
def glue_dir():
    return str(shared_data("glue"))


@pytest.mark.parametrize("task,split,count,positives", [
    ("sst2", "train", 67349, 37569), ("sst2", "dev", 872, 444),
    ("mrpc", "train", 3668, 2474), ("mrpc", "dev", 408, 279),
    ("cola", "train", 8551, 6023), ("cola", "dev", 1043, 721),
    ("rte", "train", 2490, 1241), ("rte", "dev", 277, 131),  # label 1 = not_entailment
])
def test_readers_match_the_documented_counts(glue_dir, task, split, count, positives):
    texts, labels = read_glue(glue_dir, task, split)
    assert len(labels) == count and sum(labels) == positives
    pairs = get_task(task).text_b is not None
    assert isinstance(texts, tuple) == pairs
    if pairs:
        assert len(texts[0]) == len(texts[1]) == count


def test_stsb_scores_and_test_splits(glue_dir):
    texts, scores = read_glue(glue_dir, "stsb", "dev")
    assert len(scores) == 1500 and min(scores) == 0.0 and max(scores) == 5.0
    assert texts[0][0] == "A man with a hard hat is dancing."
    test_texts, test_labels = read_glue(glue_dir, "mrpc", "test")
    assert test_labels is None and len(test_texts[0]) == 1725
    assert len(read_glue(glue_dir, "cola", "test")[0]) == 1063


def test_reader_errors(glue_dir, tmp_path):
    with pytest.raises(ValueError, match="Unknown GLUE task 'glu'"):
        read_glue(glue_dir, "glu", "dev")
    with pytest.raises(FileNotFoundError, match="SST-2/valid.tsv"):
        read_glue(glue_dir, "sst2", "valid")
    (tmp_path / "SST-2").mkdir()
    (tmp_path / "SST-2" / "dev.tsv").write_text("sentence\tlabel\ngood\t1\nbad\n")
    with pytest.raises(ValueError, match="dev.tsv:3: malformed row"):
        read_glue(str(tmp_path), "sst2", "dev")


def test_metrics_hand_computed():
    labels = [1, 1, 1, 0, 0, 0, 1, 0]
    preds = [1, 1, 0, 0, 0, 1, 1, 1]
    # tp=3 fn=1 fp=2 tn=2
    assert accuracy(labels, preds) == 5 / 8
    assert f1(labels, preds) == pytest.approx(2 * 3 / (2 * 3 + 2 + 1))
    assert matthews_corrcoef(labels, preds) == pytest.approx(
        (3 * 2 - 2 * 1) / np.sqrt(5 * 4 * 4 * 3))
    # Edge cases as the official (scikit-learn) definitions: constant predictions.
    assert matthews_corrcoef(labels, [1] * 8) == 0.0
    assert f1([0, 0], [0, 0]) == 0.0


def test_correlations_equal_scipy_with_ties():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, size=200).astype(float)  # many ties, as STS-B scores
    y = x + rng.normal(size=200)
    assert pearson(x, y) == pytest.approx(scipy.stats.pearsonr(x, y)[0], abs=1e-12)
    assert spearman(x, y) == pytest.approx(scipy.stats.spearmanr(x, y)[0], abs=1e-12)


def test_glue_metrics_per_task():
    assert set(glue_metrics(get_task("cola"), [0, 1], [0, 1])) == {"accuracy", "matthews_corrcoef"}
    assert set(glue_metrics(get_task("mrpc"), [0, 1], [0, 1])) == {"accuracy", "f1"}
    assert set(glue_metrics(get_task("stsb"), [0.0, 1.0, 2.0], [0.1, 0.9, 2.5])) == {
        "pearson", "spearman"}


class _FakeLabel:
    def __init__(self, names):
        self.names = names


class _FakeTfds:
    """Stands in for tensorflow_datasets: TFDS's MNLI feature names and label order."""

    def __init__(self):
        self.calls = []

    def load(self, name, split, data_dir=None, with_info=False):
        self.calls.append((name, split))
        rows = {"premise": [b"A man eats.", b"A dog runs.", b"It rains."],
                "hypothesis": [b"Someone eats.", b"A cat sleeps.", b"It is wet."],
                "label": [0, 2, 1]}  # TFDS: entailment, contradiction, neutral
        info = type("Info", (), {"features": {
            "label": _FakeLabel(["entailment", "neutral", "contradiction"])}})()
        return tf.data.Dataset.from_tensor_slices(rows), info


def test_tfds_glue_maps_features_splits_and_label_names(monkeypatch):
    import sys

    fake = _FakeTfds()
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", fake)
    (premises, hypotheses), labels = read_glue("tfds", "mnli", "dev_matched")
    assert fake.calls == [("glue/mnli", "validation_matched")]
    assert premises[1] == "A dog runs." and hypotheses[2] == "It is wet."
    names = get_task("mnli").labels
    assert [names[i] for i in labels] == ["entailment", "contradiction", "neutral"]
    _, test_labels = read_glue("tfds", "mnli", "test_matched")
    assert test_labels is None


def test_tfds_glue_without_the_package_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)  # import fails
    with pytest.raises(ImportError, match="pip install tensorflow-datasets"):
        read_glue("tfds", "sst2", "train")
