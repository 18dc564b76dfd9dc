"""SavedModel export: loads in a process with only TensorFlow + TF Text, on raw text."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

import keras_bert_repro as kbr
from keras_bert_repro.data import read_glue
from tests.conftest import shared_data
from tests.fuzz import TEXT
from tests.serving_process import POSTAMBLE, PREAMBLE

LOADER = PREAMBLE + r"""
import json
export_dir, requests = sys.argv[1], json.loads(sys.argv[2])
model = tf.saved_model.load(export_dir)
out = {"signatures": sorted(model.signatures)}
for name, request in requests.items():
    fn = model.signatures[request.pop("signature")]
    args = {k: tf.constant(v) for k, v in request.items()}
    out[name] = {k: v.numpy().tolist() for k, v in fn(**args).items()}
print(json.dumps(out))
""" + POSTAMBLE


def serve(export_dir, requests):
    """Calls the SavedModel's signatures from a fresh process without Keras or this library."""
    done = subprocess.run([sys.executable, "-c", LOADER, export_dir, json.dumps(requests)],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""},
                          cwd="/")
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def texts():
    sentences, _ = read_glue(str(shared_data("glue")), "sst2", "dev")
    return sentences[:64]


@pytest.fixture(scope="module")
def classifier(minilm_dir):
    """A small random encoder with the real tokenizer: export mechanics, quickly."""
    keras.utils.set_random_seed(0)
    pre = kbr.BertPreprocessor.from_preset(minilm_dir, sequence_length=64, pad_to_multiple_of=16)
    small = kbr.BertBackbone(vocabulary_size=30522, num_layers=2, num_heads=2, hidden_dim=64,
                             intermediate_dim=128, max_sequence_length=64)
    return kbr.BertClassifier(small, num_classes=3, preprocessor=pre)


@pytest.fixture(scope="module")
def exported(classifier, tmp_path_factory):
    export_dir = str(tmp_path_factory.mktemp("saved_models") / "sst2" / "1")
    ops = kbr.export_saved_model(classifier, export_dir)
    return export_dir, ops


@pytest.fixture(scope="module")
def loaded(exported):
    """The export loaded in this process, for inputs drawn here (hypothesis)."""
    return tf.saved_model.load(exported[0])


@pytest.fixture(scope="module")
def served(classifier, exported, texts):
    """One serving process answers every request the tests below check."""
    inputs = {k: np.asarray(v).tolist() for k, v in classifier.preprocessor(texts[:4]).items()}
    return serve(exported[0], {
        "batch": {"signature": "serving_default", "text": texts + ["", "word " * 5000]},
        "one": {"signature": "serving_default", "text": [texts[0]]},
        "ids": {"signature": "serving_ids", **inputs},
    })


def test_text_signature_matches_keras_predictions(classifier, served, texts):
    assert served["signatures"] == ["serving_default", "serving_ids"]
    expected = classifier.predict(texts + ["", "word " * 5000], verbose=0)
    np.testing.assert_allclose(np.array(served["batch"]["logits"]), expected, atol=1e-4)
    probabilities = np.array(served["batch"]["probabilities"])
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.array(served["one"]["logits"])[0], expected[0], atol=1e-4)


@pytest.mark.backend_independent  # the SavedModel is TF's whatever the backend: once
@given(texts=st.lists(TEXT, min_size=1, max_size=4))
def test_text_signature_matches_keras_on_fuzzed_text(classifier, loaded, texts):
    """Issue 25: arbitrary Unicode (tests/fuzz.py) gives the Keras model's logits."""
    served = loaded.signatures["serving_default"]
    np.testing.assert_allclose(served(text=tf.constant(texts))["logits"].numpy(),
                               classifier.predict(texts, verbose=0), atol=1e-4)


def test_ids_signature_and_layout(classifier, exported, served, texts):
    export_dir, ops = exported
    np.testing.assert_allclose(np.array(served["ids"]["logits"]),
                               classifier.predict(texts[:4], verbose=0), atol=1e-4)
    assert os.path.isfile(os.path.join(export_dir, "saved_model.pb"))
    assert os.path.isdir(os.path.join(export_dir, "variables"))
    with open(os.path.join(export_dir, "assets", "vocab.txt"), encoding="utf-8") as f:
        assert f.read().splitlines() == classifier.preprocessor.tokenizer.vocabulary
    assert "FastWordpieceTokenizeWithOffsets" in ops  # the TF Text ops are named
    assert not any("RoundRobin" in op or "FastBertNormalize" in op for op in ops)
def test_warmup_requests_parse_as_prediction_logs(exported):
    from tensorflow_serving.apis import prediction_log_pb2

    export_dir, _ = exported
    path = os.path.join(export_dir, "assets.extra", "tf_serving_warmup_requests")
    records = list(tf.data.TFRecordDataset(path))
    assert records
    log = prediction_log_pb2.PredictionLog.FromString(records[0].numpy())
    assert log.predict_log.request.model_spec.name == "sst2"
    assert "text" in log.predict_log.request.inputs


def test_saved_model_cli_lists_the_signatures(exported):
    export_dir, _ = exported
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    done = subprocess.run([cli, "show", "--dir", export_dir, "--all"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "signature_def['serving_default']" in done.stdout
    assert "signature_def['serving_ids']" in done.stdout
    assert "inputs['text']" in done.stdout and "outputs['probabilities']" in done.stdout


def test_pair_regressor_export(classifier, tmp_path):
    """A classifier fine-tuned on pairs (`text_pairs`, which fit records) is served on
    pairs without being told; a `pairs` that contradicts it is refused."""
    reg = kbr.BertClassifier(classifier.backbone, num_classes=1,
                             preprocessor=classifier.preprocessor, text_pairs=True)
    a, b = ["a man is singing", "the cat sleeps"], ["someone sings", "stocks fell"]
    with pytest.raises(ValueError, match="pairs=False but the classifier was fine-tuned on "
                       "text pairs"):
        kbr.export_saved_model(reg, str(tmp_path / "single"), pairs=False)
    assert not (tmp_path / "single").exists()
    kbr.export_saved_model(reg, str(tmp_path / "stsb" / "1"))
    out = serve(str(tmp_path / "stsb" / "1"),
                {"pair": {"signature": "serving_default", "text": a, "text_pair": b}})
    np.testing.assert_allclose(np.array(out["pair"]["score"]),
                               reg.predict((a, b), verbose=0)[:, 0], atol=1e-4)
    with pytest.raises(ValueError, match="signatures must be drawn"):
        kbr.export_saved_model(reg, str(tmp_path / "x"), signatures=("grpc",))


@pytest.mark.backend_independent  # the export itself always runs on TensorFlow
def test_ids_only_export_needs_no_tf_text(classifier, tmp_path, monkeypatch):
    ops = kbr.export_saved_model(classifier, str(tmp_path / "ids" / "1"), signatures=("ids",))
    assert ops == []  # core TensorFlow only: any TF Serving binary loads it
    # The version folder appears whole (TF Serving loads one as soon as it appears); an
    # export that fails half-way leaves the version that was there and no leftovers.
    before = {p: p.read_bytes() for p in (tmp_path / "ids" / "1").rglob("*") if p.is_file()}
    if keras.backend.backend() == "tensorflow":  # the in-process path (others spawn it)
        def fail_after_writing(module, export_dir, **kwargs):
            os.makedirs(os.path.join(export_dir, "variables"))
            raise OSError("disk full")

        monkeypatch.setattr(tf.saved_model, "save", fail_after_writing)
        with pytest.raises(OSError, match="disk full"):
            kbr.export_saved_model(classifier, str(tmp_path / "ids" / "1"), signatures=("ids",))
        monkeypatch.undo()
    assert sorted(p.name for p in (tmp_path / "ids").iterdir()) == ["1"]
    assert {p: p.read_bytes() for p in (tmp_path / "ids" / "1").rglob("*")
            if p.is_file()} == before
    out = serve(str(tmp_path / "ids" / "1"), {"ids": {
        "signature": "serving_default",
        **{k: np.asarray(v).tolist() for k, v in classifier.preprocessor(["a b"]).items()}}})
    np.testing.assert_allclose(np.array(out["ids"]["logits"]),
                               classifier.predict(["a b"], verbose=0), atol=1e-4)


@pytest.mark.backend_independent  # from JAX/torch it is the .keras file rebuilt on TF
def test_an_int8_classifier_exports_and_serves_raw_text(classifier, texts, tmp_path):
    """A quantized model serves as its Keras self does (from any backend: the export
    rebuilds it on TensorFlow from its .keras file, quantized layers included)."""
    quantized = kbr.BertClassifier.from_config(classifier.get_config())
    quantized.set_weights(classifier.get_weights())
    quantized.quantize("int8")
    export_dir = str(tmp_path / "sst2_int8" / "1")
    kbr.export_saved_model(quantized, export_dir)
    out = serve(export_dir, {"q": {"signature": "serving_default", "text": texts[:8]}})
    # int8 activations are quantized per call: a rounding step may differ (2.4e-4 seen)
    np.testing.assert_allclose(np.array(out["q"]["logits"]),
                               quantized.predict(texts[:8], verbose=0), atol=1e-3)
    np.testing.assert_allclose(np.array(out["q"]["logits"]),
                               classifier.predict(texts[:8], verbose=0), atol=0.05)
