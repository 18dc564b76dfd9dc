"""Files written by earlier releases still load and give the outputs they gave then.

`tests/fixtures/v0_1_0/` holds tiny models saved by keras_bert_repro 0.1.0 (commit
f7fb8d9, before the one-way layout of issue 24) with `make_fixtures.py`, and
the outputs each gave at save time (`expected_outputs.npz`).
"""

import pathlib

import keras
import numpy as np
import pytest

import keras_bert_repro as kbr
from tests.conftest import to_numpy

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "v0_1_0"
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def expected():
    with np.load(FIXTURES / "expected_outputs.npz") as data:
        return dict(data)


def _inputs():
    ids = np.array([[2, 5, 7, 8, 9, 3, 0]], "int32")
    return {"token_ids": ids, "segment_ids": np.zeros_like(ids),
            "padding_mask": (ids > 0).astype("int32")}


def _close(ours, theirs):
    np.testing.assert_allclose(to_numpy(ours), theirs, atol=TOLERANCE, rtol=TOLERANCE)


def _load(name):
    return keras.saving.load_model(FIXTURES / f"{name}.keras")


def test_own_preset_of_0_1_0_loads(expected):
    backbone = kbr.BertBackbone.from_preset(str(FIXTURES / "preset"))
    _close(backbone(_inputs())["pooled_output"], expected["preset_pooled"])
    tokenizer = kbr.BertTokenizer.from_preset(str(FIXTURES / "preset"))
    assert tokenizer.vocabulary_size == backbone.vocabulary_size


def test_classifier_keras_file_of_0_1_0_loads(expected):
    model = _load("classifier")
    assert isinstance(model, kbr.BertClassifier)
    _close(model.predict(["the film was great", "dull plot"], verbose=0), expected["classifier"])


def test_feature_classifier_keras_file_of_0_1_0_loads(expected):
    model = _load("feature_classifier")
    assert isinstance(model, kbr.BertFeatureClassifier)
    _close(model.predict(["the film was great", "dull plot"], verbose=0),
           expected["feature_classifier"])


def test_token_classifier_keras_file_of_0_1_0_loads(expected):
    model = _load("token_classifier")
    assert isinstance(model, kbr.BertTokenClassifier)
    labels = model.predict([["eu", "rejects", "german", "call"]], verbose=0)
    np.testing.assert_array_equal(np.concatenate(labels), expected["token_classifier"])


def test_question_answerer_keras_file_of_0_1_0_loads(expected):
    model = _load("question_answerer")
    assert isinstance(model, kbr.BertQuestionAnswerer)
    assert isinstance(model.preprocessor, kbr.BertSquadPreprocessor)
    _close(model.predict(_inputs(), verbose=0), expected["question_answerer"])


def test_multiple_choice_keras_file_of_0_1_0_loads(expected):
    model = _load("multiple_choice")
    assert isinstance(model, kbr.BertMultipleChoice)
    assert isinstance(model.preprocessor, kbr.BertMultipleChoicePreprocessor)
    endings = [["he eats .", "he flies .", "he sleeps .", "he runs ."]]
    _close(model.predict((["a man sits down ."], endings), verbose=0), expected["multiple_choice"])


def test_pretrainer_keras_file_of_0_1_0_loads(expected):
    model = _load("pretrainer")
    assert isinstance(model, kbr.BertPretrainer)
    out = model.predict({**_inputs(), "mask_positions": np.array([[1, 2]], "int32")}, verbose=0)
    _close(out["nsp"], expected["pretrainer_nsp"])


def test_import_paths_of_0_1_0_that_stay():
    from keras_bert_repro.models import BertMultipleChoicePreprocessor
    from keras_bert_repro.training import adapt_language_model

    assert BertMultipleChoicePreprocessor is kbr.BertMultipleChoicePreprocessor
    assert adapt_language_model is kbr.adapt_language_model
