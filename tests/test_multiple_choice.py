"""BertMultipleChoice (SWAG): packing per choice, softmax across choices, learning,
saving, and the SWAG reader."""

import csv
import os

import keras
import numpy as np
import pytest

import keras_bert_repro as kbr
from keras_bert_repro.data.swag import read_swag
from keras_bert_repro import BertMultipleChoice, BertMultipleChoicePreprocessor
from tests.conftest import to_numpy

WORDS = ["apple", "river", "guitar", "window", "tiger", "candle", "pencil", "garden"]


def synthetic_swag(n, seed):
    """Learnable from the endings: the right one says the thing was found, the
    three others that it was lost."""
    rng = np.random.default_rng(seed)
    contexts, endings, labels = [], [], []
    for _ in range(n):
        nouns = rng.choice(WORDS, size=5, replace=False)
        label = int(rng.integers(4))
        contexts.append(f"she looked for the {nouns[4]} all day")
        endings.append([f"then the {noun} was {'found' if i == label else 'lost'}"
                         for i, noun in enumerate(nouns[:4])])
        labels.append(label)
    return (contexts, endings), np.array(labels)


@pytest.fixture(scope="module")
def preprocessor(minilm_dir):
    return BertMultipleChoicePreprocessor.from_preset(minilm_dir, sequence_length=24)


@pytest.fixture(scope="module")
def model(preprocessor):
    keras.utils.set_random_seed(0)
    backbone = kbr.BertBackbone(vocabulary_size=30522, num_layers=2, num_heads=2, hidden_dim=64,
                                intermediate_dim=128, max_sequence_length=64)
    model = BertMultipleChoice(backbone, num_choices=4, preprocessor=preprocessor)
    model.compile(optimizer=kbr.training.bert_adamw(5e-3))
    return model


def loss_of(model, inputs, labels):
    # Batches of 8 throughout, so each backend compiles the predict step once.
    return float(to_numpy(model.loss(labels, model.predict(inputs, batch_size=8, verbose=0))))


@pytest.mark.backend_independent
def test_each_choice_is_packed_as_a_sentence_pair(preprocessor):
    contexts = ["a man sits at the piano", "the dog " + "barks loudly " * 20]
    endings = [["he plays", "he eats the keys", "he", "it rains"],
               ["then sleeps", "then it runs far away", "then", "then eats"]]
    out = preprocessor((contexts, endings))
    assert out["token_ids"].shape == (2, 4, 24)
    pairs = kbr.BertPreprocessor(preprocessor.tokenizer, sequence_length=24)
    for i in range(2):
        expected = pairs(([contexts[i]] * 4, endings[i]))
        for key in ("token_ids", "segment_ids", "padding_mask"):
            np.testing.assert_array_equal(np.asarray(out[key][i]), np.asarray(expected[key]))
    ids = np.asarray(out["token_ids"][0, 1])
    tokens = [preprocessor.tokenizer.id_to_token(t) for t in ids[ids > 0]]
    assert tokens == ["[CLS]", "a", "man", "sits", "at", "the", "piano", "[SEP]",
                      "he", "eats", "the", "keys", "[SEP]"]
    # The long context is cut from its end, so every ending keeps its tokens.
    assert np.asarray(out["padding_mask"][1]).sum(axis=-1).max() == 24
    assert (np.asarray(out["segment_ids"][1, 1]) == 1).sum() == 1 + len(
        preprocessor.tokenizer.call("then it runs far away"))


@pytest.mark.backend_independent
def test_preprocessor_rejects_uneven_endings(preprocessor):
    with pytest.raises((TypeError, ValueError)):
        preprocessor((["a", "b"], [["x", "y"], ["z"]]))
    with pytest.raises(ValueError, match="endings"):
        preprocessor((["a", "b"], ["x", "y"]))


def test_logits_are_a_softmax_across_choices(model):
    (contexts, endings), labels = synthetic_swag(8, seed=0)
    # Each choice is scored on its own: permuting the endings permutes the scores.
    order = [2, 0, 3, 1]
    both = model.predict((contexts * 2, endings + [[e[j] for j in order] for e in endings]),
                         batch_size=8, verbose=0)
    assert both.shape == (16, 4)
    logits, permuted = both[:8], both[8:]
    np.testing.assert_allclose(permuted, logits[:, order], atol=1e-5)
    # The default loss is cross-entropy of the softmax over the choices.
    loss = float(to_numpy(model.loss(labels, logits)))
    log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    np.testing.assert_allclose(loss, -log_probs[np.arange(8), labels].mean(), rtol=1e-4)


def test_fit_learns_the_right_ending(model, preprocessor):
    texts, labels = synthetic_swag(32, seed=1)
    # Token ids, packed once: each pass over raw text re-instantiates the tokenizer.
    inputs = preprocessor(texts)
    before = loss_of(model, inputs, labels)
    model.fit(inputs, labels, batch_size=8, epochs=6, verbose=0)
    after = loss_of(model, inputs, labels)
    assert after < before - 0.2, (before, after)


def test_wrong_number_of_endings_is_rejected(model):
    (contexts, endings), _ = synthetic_swag(2, seed=2)
    with pytest.raises(ValueError, match="Example 1 has 3 endings"):
        model.predict((contexts, [endings[0], endings[1][:3]]), verbose=0)
    with pytest.raises(ValueError, match="num_choices=4"):
        model.predict((contexts, np.array([e[:2] for e in endings])), verbose=0)


def test_keras_file_round_trip(model, tmp_path):
    config = model.get_config()
    assert config["num_choices"] == 4 and config["dropout"] == 0.1
    path = os.path.join(tmp_path, "swag.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored, BertMultipleChoice)
    assert isinstance(restored.preprocessor, BertMultipleChoicePreprocessor)
    texts, _ = synthetic_swag(8, seed=3)
    np.testing.assert_allclose(restored.predict(texts, batch_size=8, verbose=0),
                               to_numpy(model(model.preprocessor(texts))), atol=1e-5)


def write_swag_csv(path, rows, with_label=True):
    header = ["", "video-id", "fold-ind", "startphrase", "sent1", "sent2", "gold-source",
              "ending0", "ending1", "ending2", "ending3"] + (["label"] if with_label else [])
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for i, (sent1, sent2, endings, label) in enumerate(rows):
            writer.writerow([i, f"anetv_{i}", str(i), f"{sent1} {sent2}", sent1, sent2, "gold"]
                            + endings + ([label] if with_label else []))


@pytest.mark.backend_independent
def test_read_swag_builds_context_and_four_endings(tmp_path):
    rows = [("A man sits, then stands.", "He", ["walks off.", "eats, \"loudly\".", "a", "b"], 1),
            ("The cat sleeps.", "It", ["wakes.", "flies.", "sings.", "melts."], 0)]
    write_swag_csv(tmp_path / "val.csv", rows)
    (contexts, endings), labels = read_swag(str(tmp_path), "val")
    assert contexts == ["A man sits, then stands.", "The cat sleeps."]
    assert endings[0] == ["He walks off.", "He eats, \"loudly\".", "He a", "He b"]
    assert labels == [1, 0]
    write_swag_csv(tmp_path / "test.csv", rows, with_label=False)
    assert read_swag(str(tmp_path), "test")[1] is None
    with pytest.raises(FileNotFoundError, match="train.csv"):
        read_swag(str(tmp_path), "train")


@pytest.mark.backend_independent
def test_read_swag_names_bad_files(tmp_path):
    (tmp_path / "val.csv").write_text("sent1,sent2,ending0\nx,y,z\n")
    with pytest.raises(ValueError, match="lacks the SWAG column"):
        read_swag(str(tmp_path), "val")
    write_swag_csv(tmp_path / "train.csv", [("c", "s", ["a", "b", "c", "d"], 7)])
    with pytest.raises(ValueError, match="train.csv:2: label 7"):
        read_swag(str(tmp_path), "train")

