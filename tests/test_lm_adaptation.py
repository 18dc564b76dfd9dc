"""LM adaptation: continued masked-LM training on domain text writes a loadable preset."""

import keras
import numpy as np
import pytest

import keras_bert_repro as kbr
from keras_bert_repro.data import read_glue
from keras_bert_repro.models.lm_adaptation import adapt_language_model
from tests.conftest import shared_data


@pytest.fixture(scope="module")
def tiny_preset(minilm_dir, tmp_path_factory):
    """A 2-layer encoder with the real uncased vocabulary, saved as a preset."""
    keras.utils.set_random_seed(0)
    backbone = kbr.BertBackbone(vocabulary_size=30522, num_layers=2, num_heads=2, hidden_dim=64,
                                intermediate_dim=128, max_sequence_length=64)
    path = str(tmp_path_factory.mktemp("tiny"))
    backbone.save_to_preset(path, vocabulary=kbr.BertTokenizer.from_preset(minilm_dir).vocabulary)
    return path


def test_adaptation_is_importable_where_0_1_0_published_it():
    from keras_bert_repro.training import adapt_language_model as published

    assert published is adapt_language_model is kbr.training.adapt_language_model


def test_adaptation_lowers_the_mlm_loss_and_writes_a_preset(tiny_preset, tmp_path):
    texts = read_glue(str(shared_data("glue")), "sst2", "train")[0][:64]
    out, history = adapt_language_model(tiny_preset, texts, str(tmp_path / "adapted"),
                                        steps=40, batch_size=16, sequence_length=32,
                                        learning_rate=2e-3, max_predictions_per_seq=5, verbose=0)
    losses = history["loss"]  # per quarter of the run; ln(30522) = 10.33 is uniform
    assert len(losses) == 4 and losses[-1] < losses[0] - 0.5, losses
    before = kbr.BertBackbone.from_preset(tiny_preset)
    after = kbr.BertBackbone.from_preset(out)
    embedding = lambda b: keras.ops.convert_to_numpy(b.get_layer("token_embedding").embeddings)
    assert not np.allclose(embedding(before), embedding(after))
    clf = kbr.BertClassifier.from_preset(out, num_classes=2, sequence_length=32)
    assert clf.predict(["a fine film"], verbose=0).shape == (1, 2)


def test_adaptation_reads_text_files_and_rejects_empty_input(tiny_preset, tmp_path):
    with pytest.raises(FileNotFoundError, match="No text files match"):
        adapt_language_model(tiny_preset, str(tmp_path / "missing*.txt"), str(tmp_path / "o"))
    with pytest.raises(ValueError, match="texts is empty"):
        adapt_language_model(tiny_preset, ["", "  "], str(tmp_path / "o"))
    corpus = tmp_path / "domain.txt"
    corpus.write_text("the patient was given aspirin\n\nthe dose was doubled\n")
    out, history = adapt_language_model(tiny_preset, str(corpus), str(tmp_path / "files"),
                                        steps=2, batch_size=2, sequence_length=16,
                                        max_predictions_per_seq=3, verbose=0)
    assert len(history["loss"]) == 1 and np.isfinite(history["loss"][0])  # 2 steps: 1 part
    assert kbr.BertTokenizer.from_preset(out).vocabulary_size == 30522


def test_adaptation_writes_the_layout_asked_for_and_checks_it_first(tiny_preset, tmp_path):
    import transformers

    from keras_bert_repro import presets

    texts = ["a fine film", "a dull plot", "the cast is good", "long and slow"] * 4
    with pytest.raises(presets.UnsupportedCheckpoint, match="tanh approximation"):
        adapt_language_model(tiny_preset, texts, str(tmp_path / "google"), steps=1,
                             sequence_length=16, max_predictions_per_seq=3,
                             export_format="google", verbose=0)
    assert not (tmp_path / "google").exists()
    out, _ = adapt_language_model(tiny_preset, texts, str(tmp_path / "hf"), steps=2,
                                  batch_size=4, sequence_length=16, max_predictions_per_seq=3,
                                  export_format="hf", verbose=0)
    model, info = transformers.BertForMaskedLM.from_pretrained(out, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    adapted = kbr.BertBackbone.from_preset(out)  # no pooler in BertForMaskedLM: a warning
    np.testing.assert_allclose(
        model.bert.embeddings.word_embeddings.weight.detach().numpy(),
        keras.ops.convert_to_numpy(adapted.get_layer("token_embedding").embeddings))
