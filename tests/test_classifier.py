"""BertClassifier: raw-text fit/predict on real GLUE slices, the paper's optimizer, saving."""

import os
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_bert_repro as kbr
from keras_bert_repro.data import read_glue
from keras_bert_repro.training import WarmupLinearDecay
from tests.conftest import shared_data, to_numpy


@pytest.fixture(scope="module")
def sst2_slice():
    texts, labels = read_glue(str(shared_data("glue")), "sst2", "train")
    return texts[:64], np.array(labels[:64])


@pytest.fixture(scope="module")
def classifier(minilm_dir):
    keras.utils.set_random_seed(0)
    # One padded shape, so each backend compiles each step function once.
    return kbr.BertClassifier.from_preset(minilm_dir, num_classes=2, sequence_length=48,
                                          pad_to_multiple_of=None)


@pytest.fixture(scope="module")
def small_classifier(classifier):
    """A small random encoder with the real tokenizer, for the mechanics (fast to compile)."""
    keras.utils.set_random_seed(0)
    small = kbr.BertBackbone(vocabulary_size=30522, num_layers=2, num_heads=2, hidden_dim=64,
                             intermediate_dim=128, max_sequence_length=64)
    return kbr.BertClassifier(small, num_classes=2, preprocessor=classifier.preprocessor)


def test_fit_on_raw_text_lowers_the_loss(classifier, sst2_slice):
    texts, labels = sst2_slice[0][:32], sst2_slice[1][:32]
    classifier.compile(optimizer=kbr.training.bert_adamw(1e-4))
    before = classifier.evaluate(texts, labels, return_dict=True, verbose=0)["loss"]
    history = classifier.fit(texts, labels, batch_size=8, epochs=4, verbose=0, seed=1)
    after = classifier.evaluate(texts, labels, return_dict=True, verbose=0)["loss"]
    assert after < before - 0.03, (before, after, history.history)
    schedule = classifier.optimizer._learning_rate
    assert isinstance(schedule, WarmupLinearDecay)
    assert schedule.total_steps == 4 * 4  # epochs x ceil(32 / 8)
    assert float(schedule(schedule.start_step + 16)) == 0.0  # decayed to zero at the end


def test_fit_groups_texts_of_similar_length(small_classifier, sst2_slice):
    """Training batches come from one length bucket each (padded to its multiple)
    but for at most one pooled batch of what the buckets leave, every text exactly
    once per epoch, in a different order each epoch, and the schedule is sized with
    the grouped batch count."""
    texts, labels = sst2_slice
    pre = kbr.BertPreprocessor(small_classifier.preprocessor.tokenizer, sequence_length=64,
                               pad_to_multiple_of=8)
    model = kbr.BertClassifier(small_classifier.backbone, num_classes=2, preprocessor=pre)
    lengths = model._packed_lengths(texts)
    dataset = model._text_dataset(texts, np.arange(len(texts)), batch_size=4, shuffle=True,
                                  seed=0, group_by_length=True)
    epochs = [[(x["padding_mask"].numpy(), y.numpy()) for x, y in dataset] for _ in range(2)]
    counts = np.bincount((lengths - 1) // 8)
    assert int(dataset.cardinality()) == sum(counts // 4) + int(np.ceil(sum(counts % 4) / 4))
    for batches in epochs:
        assert len(batches) == int(dataset.cardinality())
        seen = np.concatenate([index for _, index in batches])
        assert sorted(seen.tolist()) == list(range(len(texts)))
        pooled = 0
        for mask, index in batches:
            buckets = (lengths[index] - 1) // 8
            pooled += len(set(buckets)) > 1 or len(index) < 4
            assert mask.shape[1] == 8 * (buckets.max() + 1)
            np.testing.assert_array_equal(mask.sum(1), lengths[index])
        assert pooled <= np.ceil(sum(counts % 4) / 4)
    assert [i.tolist() for _, i in epochs[0]] != [i.tolist() for _, i in epochs[1]]
    uniform = model._text_dataset(texts, np.arange(len(texts)), batch_size=4, shuffle=True,
                                  seed=0, group_by_length=False)
    assert int(uniform.cardinality()) == len(texts) // 4
    model.compile()
    model.fit(texts[:16], labels[:16], batch_size=4, verbose=0)
    schedule = model.optimizer._learning_rate
    grouped = model._text_dataset(texts[:16], labels[:16], batch_size=4, shuffle=True,
                                  group_by_length=True)
    assert schedule.total_steps == int(grouped.cardinality())


def test_predict_gives_logits_per_text(classifier, sst2_slice):
    texts, _ = sst2_slice
    logits = classifier.predict(texts[:5], verbose=0)
    assert logits.shape == (5, 2)
    single = classifier.predict(["a single sentence"], verbose=0)
    assert single.shape == (1, 2)


def test_tf_data_of_text_and_labels(small_classifier, sst2_slice):
    texts, labels = sst2_slice
    ds = tf.data.Dataset.from_tensor_slices((texts, labels)).batch(32)
    history = small_classifier.fit(ds, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    text_only = tf.data.Dataset.from_tensor_slices(texts[:8]).batch(4)
    np.testing.assert_allclose(small_classifier.predict(text_only, verbose=0),
                               small_classifier.predict(texts[:8], verbose=0), atol=1e-5)


def test_weight_decay_skips_layer_norm_and_bias(classifier):
    optimizer = kbr.training.bert_adamw(2e-5, total_steps=10)
    optimizer.build(classifier.trainable_variables)
    decayed = {v.path: optimizer._use_weight_decay(v) for v in classifier.trainable_variables}
    assert all(not d for p, d in decayed.items() if p.endswith(("gamma", "beta", "bias")))
    assert all(d for p, d in decayed.items() if p.endswith(("kernel", "embeddings")))


def test_sentence_pairs_and_regression(small_classifier):
    """STS-B pairs on the small random backbone (the mechanics, not the quality)."""
    texts, scores = read_glue(str(shared_data("glue")), "stsb", "dev")
    pairs = (texts[0][:32], texts[1][:32])
    reg = kbr.BertClassifier(small_classifier.backbone, num_classes=1,
                             preprocessor=small_classifier.preprocessor)
    assert isinstance(reg.loss, keras.losses.MeanSquaredError)
    reg.compile(optimizer=kbr.training.bert_adamw(1e-4))
    assert reg.text_pairs is None  # not known before fit
    with pytest.raises(ValueError):
        reg.fit(pairs, np.array(scores[:31]), batch_size=16, verbose=0)
    assert reg.text_pairs is None  # a refused fit records nothing
    history = reg.fit(pairs, np.array(scores[:32]), batch_size=16, epochs=2, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert reg.predict(pairs, verbose=0).shape == (32, 1)
    # fit recorded pairs; the config keeps it (the export's signature comes from it)
    assert reg.text_pairs is True and reg.get_config()["text_pairs"] is True
    assert kbr.BertClassifier.from_config(reg.get_config()).text_pairs is True
    single = kbr.BertClassifier(small_classifier.backbone, num_classes=1,
                                preprocessor=small_classifier.preprocessor)
    single.fit(texts[0][:16], np.array(scores[:16]), batch_size=16, verbose=0)
    assert single.text_pairs is False


def test_keras_hub_habits_on_raw_text(small_classifier):
    """fit(..., validation_split=) and predict_on_batch on raw text, as in keras-hub."""
    texts, labels = read_glue(str(shared_data("glue")), "sst2", "dev")
    texts, labels = texts[:40], np.array(labels[:40])
    history = small_classifier.fit(texts, labels, validation_split=0.25, batch_size=16,
                                   epochs=1, verbose=0)
    assert "val_loss" in history.history and "val_accuracy" in history.history
    # the last quarter (10 texts) is the validation set, as Keras' rule has it
    evaluated = small_classifier.evaluate(texts[30:], labels[30:], return_dict=True, verbose=0)
    np.testing.assert_allclose(history.history["val_loss"][0], evaluated["loss"], rtol=1e-4)
    np.testing.assert_allclose(to_numpy(small_classifier.predict_on_batch(texts[:8])),
                               small_classifier.predict(texts[:8], verbose=0), atol=1e-5)
    # One text (or one pair) is a batch of one; fit still refuses it (no silent batch).
    np.testing.assert_allclose(small_classifier.predict(texts[3], verbose=0),
                               small_classifier.predict(texts[3:4], verbose=0), atol=1e-5)
    pair = small_classifier.predict((texts[0], texts[1]), verbose=0)
    assert pair.shape == (1, 2)
    np.testing.assert_allclose(pair, small_classifier.predict(([texts[0]], [texts[1]]),
                                                              verbose=0), atol=1e-5)


def test_keras_file_round_trip_keeps_preprocessor_and_weights(small_classifier, tmp_path):
    path = os.path.join(tmp_path, "clf.keras")
    small_classifier.save(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        restored = keras.saving.load_model(path)
    assert not [w for w in caught if "optimizer" in str(w.message)], [str(w.message) for w in caught]
    assert isinstance(restored, kbr.BertClassifier)
    assert restored.preprocessor.sequence_length == 48
    texts = ["an absolute delight", "a tedious mess"]
    np.testing.assert_allclose(restored.predict(texts, verbose=0),
                               small_classifier.predict(texts, verbose=0), atol=1e-5)


def test_keras_file_round_trip_restores_the_training_state(small_classifier, sst2_slice, tmp_path):
    """Optimizer (with its decay exclusions), schedule, step and moments come back,
    so training resumes where it stopped."""
    model = kbr.BertClassifier(small_classifier.backbone, num_classes=2,
                               preprocessor=small_classifier.preprocessor)
    model.fit(sst2_slice[0][:16], sst2_slice[1][:16], batch_size=8, verbose=0)
    path = os.path.join(tmp_path, "trained.keras")
    model.save(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        restored = keras.saving.load_model(path)
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "compile" in m or "optimizer" in m], messages
    assert isinstance(restored.optimizer, kbr.training.BertAdamW)
    assert int(restored.optimizer.iterations) == int(model.optimizer.iterations) == 2
    gamma = next(v for v in restored.trainable_variables if v.path.endswith("gamma"))
    kernel = next(v for v in restored.trainable_variables if v.path.endswith("kernel"))
    assert not restored.optimizer._use_weight_decay(gamma)
    assert restored.optimizer._use_weight_decay(kernel)
    schedule = restored.optimizer._learning_rate
    assert isinstance(schedule, WarmupLinearDecay) and schedule.total_steps == 2
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(restored.optimizer.variables[-1]),
        keras.ops.convert_to_numpy(model.optimizer.variables[-1]))


def test_predict_on_text_equals_the_model_on_each_preprocessed_text(small_classifier, sst2_slice):
    """Batches of mixed lengths (padded per batch to multiples of 16) give what each
    text gives alone; pairs too."""
    model = kbr.BertClassifier(small_classifier.backbone, num_classes=2,
                               preprocessor=kbr.BertPreprocessor(
                                   small_classifier.preprocessor.tokenizer, 48,
                                   pad_to_multiple_of=16))
    texts = sst2_slice[0][:24]
    batched = model.predict(texts, batch_size=8, verbose=0)
    alone = np.concatenate([model.predict_on_batch(model.preprocessor(texts[i:i + 1]))
                            for i in range(len(texts))])
    np.testing.assert_allclose(batched, alone, atol=1e-5)
    assert model.predict((texts[:5], texts[5:10]), verbose=0).shape == (5, 2)


def test_token_id_inputs_work_without_preprocessor(small_classifier):
    bare = kbr.BertClassifier(small_classifier.backbone, num_classes=3)
    inputs = small_classifier.preprocessor(["hello world"])
    assert tuple(bare(inputs).shape) == (1, 3)
    with pytest.raises(ValueError, match="has no preprocessor"):
        bare.predict(["hello"])


def test_too_long_sequence_length_is_rejected(minilm_dir):
    with pytest.raises(ValueError, match="sequence_length=1024 exceeds"):
        kbr.BertClassifier.from_preset(minilm_dir, num_classes=2, sequence_length=1024)


def test_logits_are_the_head_over_the_backbones_pooled_output(small_classifier, sst2_slice):
    """The classifier runs its last block on [CLS] only (`BertBackbone.pool`);
    that must not change what it computes."""
    x = small_classifier.preprocessor(sst2_slice[0][:4])
    pooled = small_classifier.backbone(x)["pooled_output"]
    expected = to_numpy(small_classifier.get_layer("logits")(pooled))
    np.testing.assert_allclose(to_numpy(small_classifier(x)), expected, atol=1e-5)
