"""BertFeatureClassifier (paper 5.3): frozen backbone, features from chosen hidden
layers, only the head trains, saving."""

import os

import keras
import numpy as np
import pytest

import keras_bert_repro as kbr
from keras_bert_repro.models.feature_classifier import BertFeatureClassifier
from tests.conftest import to_numpy

POSITIVE = ["a wonderful film", "truly great acting", "i loved it", "a joy to watch"]
NEGATIVE = ["a dreadful film", "truly awful acting", "i hated it", "a pain to watch"]


@pytest.fixture(scope="module")
def preprocessor(minilm_dir):
    return kbr.BertPreprocessor.from_preset(minilm_dir, sequence_length=16)


@pytest.fixture(scope="module")
def model(preprocessor):
    keras.utils.set_random_seed(0)
    backbone = kbr.BertBackbone(vocabulary_size=30522, num_layers=2, num_heads=2, hidden_dim=64,
                                intermediate_dim=128, max_sequence_length=64)
    return BertFeatureClassifier(backbone, num_classes=2, feature_layers=(0, -2, -1),
                                 pooling="cls", preprocessor=preprocessor)


def hidden_states(backbone, inputs):
    """The embedding output and each block's output, computed layer by layer."""
    tokens = backbone.get_layer("token_embedding")(inputs["token_ids"])
    x = tokens + backbone.get_layer("segment_embedding")(inputs["segment_ids"]) \
        + backbone.get_layer("position_embedding")(tokens)
    states = [backbone.get_layer("embeddings_layer_norm")(x)]
    for i in range(backbone.num_layers):
        states.append(backbone.get_layer(f"transformer_layer_{i}")(
            states[-1], padding_mask=inputs["padding_mask"]))
    return [to_numpy(s) for s in states]


def test_features_concatenate_the_chosen_layers(model, preprocessor):
    inputs = preprocessor(POSITIVE)
    states = hidden_states(model.backbone, inputs)  # [embeddings, block 0, block 1]
    features = to_numpy(model.features(inputs))
    assert features.shape == (4, 16, 3 * 64)
    np.testing.assert_allclose(features, np.concatenate(states, axis=-1), atol=1e-5)
    # No dropout in the frozen backbone, even when the model trains.
    np.testing.assert_allclose(to_numpy(model.features(inputs, training=True)), features,
                               atol=1e-6)
    # The head reads the [CLS] position's features.
    head = model.get_layer("logits")
    np.testing.assert_allclose(to_numpy(model(inputs, training=False)),
                               to_numpy(head(features[:, 0, :])), atol=1e-5)
    # With mean pooling (the default) it reads the mean over the real tokens.
    mean_model = BertFeatureClassifier(model.backbone, num_classes=2, feature_layers=(0, -2, -1))
    mask = np.asarray(inputs["padding_mask"])[:, :, None]
    mean = (features * mask).sum(axis=1) / mask.sum(axis=1)
    np.testing.assert_allclose(to_numpy(mean_model(inputs, training=False)),
                               to_numpy(mean_model.get_layer("logits")(mean)), atol=1e-5)


def test_fit_trains_the_head_only(minilm_dir):
    """On the real checkpoint: a random encoder's [CLS] features barely differ
    between texts, so there would be little for a head to learn."""
    keras.utils.set_random_seed(0)
    model = BertFeatureClassifier.from_preset(minilm_dir, num_classes=2, sequence_length=16,
                                              pad_to_multiple_of=None)
    texts = POSITIVE + NEGATIVE
    labels = np.array([1] * 4 + [0] * 4)
    frozen = [to_numpy(v).copy() for v in model.backbone.weights]
    head = [to_numpy(v).copy() for v in model.trainable_weights]
    assert len(head) == 2  # the dense layer's kernel and bias
    model.compile(optimizer=kbr.training.bert_adamw(1e-2))
    # Token ids, packed once: each pass over raw text re-instantiates the tokenizer.
    inputs = model.preprocessor(texts)

    def loss():
        return float(to_numpy(model.loss(labels, model.predict(inputs, verbose=0))))

    before = loss()
    model.fit(inputs, labels, batch_size=8, epochs=10, verbose=0)
    after = loss()
    assert after < before - 0.05, (before, after)
    for variable, value in zip(model.backbone.weights, frozen):
        np.testing.assert_array_equal(to_numpy(variable), value, err_msg=variable.path)
    assert all(np.abs(to_numpy(v) - h).max() > 1e-4 for v, h in zip(model.trainable_weights, head))


def test_keras_file_round_trip(model, tmp_path):
    config = model.get_config()
    assert config["feature_layers"] == [0, -2, -1] and config["combine"] == "concat"
    path = os.path.join(tmp_path, "features.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored, BertFeatureClassifier)
    assert not restored.backbone.trainable and len(restored.trainable_weights) == 2
    texts = POSITIVE + NEGATIVE
    np.testing.assert_allclose(restored.predict(texts, verbose=0),
                               to_numpy(model(model.preprocessor(texts))), atol=1e-5)


def test_bad_feature_layers_are_rejected(model):
    with pytest.raises(ValueError, match="feature_layers"):
        BertFeatureClassifier(model.backbone, num_classes=2, feature_layers=(-4,))
    with pytest.raises(ValueError, match="combine"):
        BertFeatureClassifier(model.backbone, num_classes=2, combine="mean")
    with pytest.raises(ValueError, match="pooling"):
        BertFeatureClassifier(model.backbone, num_classes=2, pooling="max")


# === BertFeatureTokenClassifier: the paper's feature-based NER (Table 7) ===

WORDS = [["EU", "rejects", "German", "call"], ["Peter", "Blackburn"],
         ["BRUSSELS", "1996-08-22"], ["The", "European", "Commission", "said"]]
TAGS = [[3, 0, 7, 0], [1, 2], [5, 0], [0, 3, 4, 0]]
LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]


@pytest.fixture(scope="module")
def word_preprocessor(minilm_dir):
    return kbr.BertWordPreprocessor.from_preset(minilm_dir, sequence_length=16)


def test_weighted_features_start_as_the_mean_of_all_layers(model, word_preprocessor):
    tagger = kbr.BertFeatureTokenClassifier(
        model.backbone, label_names=LABELS, feature_layers=range(3), combine="weighted",
        bilstm_units=8, preprocessor=word_preprocessor)
    inputs = word_preprocessor(WORDS)
    states = hidden_states(model.backbone, inputs)
    mixed = to_numpy(tagger.get_layer("layer_mix")(tagger.features(inputs)))
    np.testing.assert_allclose(mixed, np.mean(states, axis=0), atol=1e-5)
    assert to_numpy(tagger(inputs, training=False)).shape == (4, 16, len(LABELS))
    with pytest.raises(ValueError, match="combine"):
        kbr.BertFeatureTokenClassifier(model.backbone, label_names=LABELS, combine="mean")


def test_feature_tagger_trains_the_bilstm_only_and_round_trips(minilm_dir, tmp_path):
    keras.utils.set_random_seed(0)
    tagger = kbr.BertFeatureTokenClassifier.from_preset(
        minilm_dir, label_names=LABELS, sequence_length=16, feature_layers=[-4, -3, -2, -1],
        combine="sum", bilstm_units=16)
    frozen = [to_numpy(v).copy() for v in tagger.backbone.weights]
    before = tagger.evaluate(WORDS, TAGS, verbose=0, return_dict=True)["loss"]
    tagger.compile(optimizer=kbr.training.bert_adamw(1e-2))
    tagger.fit(WORDS, TAGS, batch_size=4, epochs=15, verbose=0)
    after = tagger.evaluate(WORDS, TAGS, verbose=0, return_dict=True)["loss"]
    assert after < before - 0.5, (before, after)
    for variable, value in zip(tagger.backbone.weights, frozen):
        np.testing.assert_array_equal(to_numpy(variable), value, err_msg=variable.path)
    # Two stacked BiLSTMs (kernel, recurrent kernel, bias each way) and the dense layer.
    assert len(tagger.trainable_weights) == 2 * 2 * 3 + 2
    path = str(tmp_path / "tagger.keras")
    tagger.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored, kbr.BertFeatureTokenClassifier)
    assert restored.get_config()["combine"] == "sum" and restored.bilstm_layers == 2
    assert [list(p) for p in restored.predict(WORDS, verbose=0)] == \
        [list(p) for p in tagger.predict(WORDS, verbose=0)]
    with pytest.raises(kbr.presets.UnsupportedCheckpoint):
        tagger.save_to_preset(str(tmp_path / "hf"), format="hf")
