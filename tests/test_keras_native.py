"""Keras' own model features on every model (issue 26): int8/float8 quantization that
reaches every kernel and survives a save, dtype policies carried by the models, LoRA
(and LoRA on an int8 backbone), and keras-hub's own model test harness on BertBackbone."""

import os

import numpy as np
import tensorflow as tf
import pytest
import keras
from keras_hub.src.tests.test_case import TestCase as KerasHubTestCase

import keras_bert_repro as kbr
from keras_bert_repro.models.lora import lora_layers
from tests.conftest import to_numpy

TINY = dict(vocabulary_size=100, num_layers=2, num_heads=2, hidden_dim=32, intermediate_dim=64,
            max_sequence_length=32)


def _inputs(batch=2, length=6, seed=0):
    ids = np.random.default_rng(seed).integers(4, 100, (batch, length)).astype("int32")
    ids[:, 0], ids[:, -1] = 2, 3
    return {"token_ids": ids, "segment_ids": np.zeros_like(ids),
            "padding_mask": np.ones_like(ids)}


def _task(name):
    """A task of `name` on a fresh tiny backbone, and inputs for it."""
    backbone, x = kbr.BertBackbone(**TINY), _inputs()
    if name == "classifier":
        return kbr.BertClassifier(backbone, num_classes=3), x
    if name == "feature_classifier":
        return kbr.BertFeatureClassifier(backbone, num_classes=2, feature_layers=(-2, -1)), x
    if name == "token_classifier":
        return kbr.BertTokenClassifier(backbone, num_classes=5), x
    if name == "question_answerer":
        return kbr.BertQuestionAnswerer(backbone), x
    if name == "multiple_choice":
        return (kbr.BertMultipleChoice(backbone, num_choices=2),
                {k: np.stack([v, v[::-1]], axis=1) for k, v in x.items()})
    return kbr.BertPretrainer(backbone), {**x, "mask_positions": np.array([[1, 2], [3, 4]])}


# Each backend's pass quantizes some of the six tasks (a make test run covers all six,
# each on one backend, most on torch, where a quantize-and-reload costs least; the
# backbone is quantized on every backend).
TASKS_BY_BACKEND = {"tensorflow": ["classifier"], "jax": ["token_classifier"],
                    "torch": ["question_answerer", "feature_classifier", "pretrainer",
                              "multiple_choice"]}


def _outputs(model, x):
    return [to_numpy(o) for o in keras.tree.flatten(model(x))]


def _kernel_layers(model):
    """Layers that hold a kernel or an embedding matrix."""
    return [layer for layer in model._flatten_layers()
            if isinstance(layer, (keras.layers.Dense, keras.layers.EinsumDense,
                                  keras.layers.Embedding))]


def _saved_and_loaded(model, tmp_path, name="model.keras"):
    path = str(tmp_path / name)
    model.save(path)
    return keras.saving.load_model(path)


# int8 on every backend; float8 on one (keras-hub's harness below quantizes both on each).
@pytest.mark.parametrize("mode", ["int8"] + (["float8"] if keras.backend.backend() == "torch"
                                             else []))
def test_quantize_reaches_every_kernel_of_the_backbone_and_survives_a_save(mode, tmp_path):
    backbone, x = kbr.BertBackbone(**TINY), _inputs()
    reference = _outputs(backbone, x)
    backbone.quantize(mode)
    layers = _kernel_layers(backbone)
    left = [layer.path for layer in layers if layer.quantization_mode is None
            # Keras quantizes embeddings to int8/int4 only.
            and not (mode == "float8" and isinstance(layer, keras.layers.Embedding))]
    assert left == [] and len(layers) == 2 + 2 * 6 + 1  # token, segment; 6 per block; pooler
    quantized = _outputs(backbone, x)
    for ours, float32 in zip(quantized, reference):
        np.testing.assert_allclose(ours, float32, atol=0.1)
    restored = _saved_and_loaded(backbone, tmp_path)
    assert [layer.quantization_mode for layer in _kernel_layers(restored)] == [
        layer.quantization_mode for layer in layers]
    for ours, back in zip(quantized, _outputs(restored, x)):
        np.testing.assert_array_equal(ours, back)
    # Foreign layouts hold float weights: a quantized model says so instead of
    # writing int8 as floats; this library's preset keeps it quantized.
    with pytest.raises(ValueError, match=f"The model is quantized \\({mode}\\); the hf"):
        backbone.save_to_preset(str(tmp_path / "hf"), format="hf")
    assert not (tmp_path / "hf").exists()
    backbone.save_to_preset(str(tmp_path / "own"))
    from_preset = kbr.BertBackbone.from_preset(str(tmp_path / "own"))
    assert [layer.quantization_mode for layer in _kernel_layers(from_preset)] == [
        layer.quantization_mode for layer in layers]
    for ours, back in zip(quantized, _outputs(from_preset, x)):
        np.testing.assert_array_equal(ours, back)
    # The config carries the quantized layers: from_config builds them quantized.
    rebuilt = kbr.BertBackbone.from_config(backbone.get_config())
    assert sum(layer.quantization_mode == mode for layer in _kernel_layers(rebuilt)) == sum(
        layer.quantization_mode == mode for layer in layers)


@pytest.mark.parametrize("name", TASKS_BY_BACKEND[keras.backend.backend()])
def test_every_task_quantizes_to_int8_whole_and_reloads_quantized(name, tmp_path):
    task, x = _task(name)
    reference = _outputs(task, x)
    task.quantize("int8")
    left = [layer.path for layer in _kernel_layers(task) if layer.quantization_mode is None]
    assert left == []
    quantized = _outputs(task, x)
    for ours, float32 in zip(quantized, reference):
        # MLM logits are sums over the hidden size of a random model: larger values
        assert np.max(np.abs(ours - float32)) <= 0.1 * max(1.0, np.max(np.abs(float32)))
    restored = _saved_and_loaded(task, tmp_path)
    assert type(restored) is type(task)
    for ours, back in zip(quantized, _outputs(restored, x)):
        np.testing.assert_array_equal(ours, back)


# One policy per backend (keras-hub's harness checks mixed precision on each).
POLICY_BY_BACKEND = {"tensorflow": ("mixed_bfloat16", "bfloat16"),
                     "jax": ("mixed_float16", "float16"), "torch": ("bfloat16", "bfloat16")}


@pytest.mark.parametrize("dtype,compute", [POLICY_BY_BACKEND[keras.backend.backend()]])
def test_the_models_carry_their_dtype_policy(dtype, compute):
    backbone = kbr.BertBackbone(**TINY, dtype=dtype)
    assert backbone.dtype_policy.name == dtype and backbone.compute_dtype == compute
    assert {layer.dtype_policy.name for layer in backbone._flatten_layers()
            if not isinstance(layer, keras.layers.InputLayer)} == {dtype}
    assert kbr.BertBackbone.from_config(backbone.get_config()).dtype_policy.name == dtype
    assert to_numpy(backbone(_inputs())["sequence_output"]).dtype == np.dtype(
        keras.backend.standardize_dtype(compute)) or compute == "bfloat16"
    classifier = kbr.BertClassifier(backbone, num_classes=2)
    assert classifier.dtype_policy.name == dtype
    assert classifier.get_layer("logits").dtype_policy.name == "float32"  # a stable loss
    assert to_numpy(classifier(_inputs())).dtype == np.float32


def _lora_classifier(quantize=None):
    backbone = kbr.BertBackbone(**TINY)
    classifier = kbr.BertClassifier(backbone, num_classes=2)
    if quantize:
        backbone.quantize(quantize)
    return backbone, classifier


def _fit(classifier, steps=3):
    x = _inputs(batch=16, length=8, seed=1)
    classifier.compile(optimizer=keras.optimizers.Adam(1e-2),
                       loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return classifier.fit(x, np.arange(16) % 2, batch_size=8, epochs=steps, verbose=0)


def test_lora_trains_its_updates_alone_and_saves_them_apart(tmp_path):
    backbone, classifier = _lora_classifier()
    query = backbone.get_layer("transformer_layer_0").attention.query_dense
    kernel = to_numpy(query.kernel)
    frozen = {v.path: to_numpy(v) for v in backbone.weights}
    backbone.enable_lora(4)
    paths = sorted(lora.path for lora in lora_layers(backbone))
    assert paths == [f"transformer_layer_{i}/attention/{name}"
                     for i in (0, 1) for name in ("query", "value")]
    trainable = {v.path for v in classifier.trainable_weights}
    assert trainable == {f"{p}/{w}" for p in paths
                         for w in ("bias", "lora_kernel_a", "lora_kernel_b")} | {
        "logits/kernel", "logits/bias"}
    _fit(classifier)
    assert not np.allclose(to_numpy(query.lora_kernel_b), 0.0)  # the update trained
    for v in backbone.weights:  # every weight of the backbone but LoRA's and biases kept
        if v.path in frozen and not v.path.endswith("bias"):
            np.testing.assert_array_equal(to_numpy(v), frozen[v.path])
    x = _inputs()
    trained = to_numpy(classifier(x))

    backbone.save_lora_weights(str(tmp_path / "sst2.lora.h5"))
    fresh_backbone, fresh = _lora_classifier()
    for v, w in zip(fresh.weights, [w for w in classifier.weights if "lora" not in w.path]):
        v.assign(w)  # the base model and head; the updates come from the file
    fresh_backbone.load_lora_weights(str(tmp_path / "sst2.lora.h5"))
    np.testing.assert_allclose(to_numpy(fresh(x)), trained, atol=1e-6)

    # A .keras file holds the updates merged into the kernels (Keras' way).
    restored = _saved_and_loaded(classifier, tmp_path)
    assert lora_layers(restored.backbone) == []
    np.testing.assert_allclose(to_numpy(restored(x)), trained, atol=1e-5)
    assert not np.allclose(to_numpy(restored.backbone.get_layer("transformer_layer_0")
                                    .attention.query_dense.kernel), kernel)


def test_lora_refuses_what_it_cannot_do(tmp_path):
    backbone, _ = _lora_classifier()
    with pytest.raises(ValueError, match="LoRA is not enabled"):
        backbone.save_lora_weights(str(tmp_path / "x.lora.h5"))
    with pytest.raises(ValueError, match="positive integer"):
        backbone.enable_lora(0)
    with pytest.raises(ValueError, match="No dense layer of the backbone is named"):
        backbone.enable_lora(2, target_layer_names=["qkv"])
    backbone.enable_lora(2)
    with pytest.raises(ValueError, match="enabled on this backbone already"):
        backbone.enable_lora(2)
    with pytest.raises(ValueError, match=r"end in '\.lora\.h5'"):
        backbone.save_lora_weights(str(tmp_path / "x.h5"))
    backbone.save_lora_weights(str(tmp_path / "rank2.lora.h5"))
    other, _ = _lora_classifier()
    other.enable_lora(4)
    with pytest.raises(ValueError, match=r"LoRA A of shape \(32, 2\).*rank 4"):
        other.load_lora_weights(str(tmp_path / "rank2.lora.h5"))


# Keras' QLoRA-like path runs in the TF and torch passes of make test (JAX's pass also
# carries the pre-training runs, and this test costs it 14 s).
if keras.backend.backend() != "jax":
    def test_lora_on_an_int8_backbone_trains_and_reloads_quantized(tmp_path):
        """Keras' QLoRA-like path: int8 kernels frozen, float32 updates trained."""
        backbone, classifier = _lora_classifier(quantize="int8")
        backbone.enable_lora(4)
        history = _fit(classifier)
        assert np.all(np.isfinite(history.history["loss"]))
        x = _inputs()
        trained = to_numpy(classifier(x))
        restored = _saved_and_loaded(classifier, tmp_path)
        modes = {layer.quantization_mode for layer in _kernel_layers(restored.backbone)}
        assert modes == {"int8"}  # reloads quantized, the updates merged and requantized
        np.testing.assert_allclose(to_numpy(restored(x)), trained, atol=0.05)
        # As a preset: the same, through from_preset (no num_classes needed).
        classifier.save_to_preset(str(tmp_path / "qlora"))
        from_preset = kbr.BertClassifier.from_preset(str(tmp_path / "qlora"), preprocessor=None)
        assert {layer.quantization_mode for layer in _kernel_layers(from_preset.backbone)} == {
            "int8"}
        np.testing.assert_allclose(to_numpy(from_preset(x)), to_numpy(restored(x)), atol=1e-6)


def test_a_task_saved_as_a_preset_comes_back_whole(tmp_path):
    """keras-hub's habit: `task.save_to_preset(dir)`, then `Task.from_preset(dir)` with
    no head arguments gives the same model: head, label names, preprocessor settings."""
    tokenizer = kbr.BertTokenizer(VOCAB)
    tagger = kbr.BertTokenClassifier(
        kbr.BertBackbone(**HARNESS_BACKBONE), label_names=["O", "B-PER", "I-PER"],
        preprocessor=kbr.BertWordPreprocessor(tokenizer, sequence_length=12))
    tagger.save_to_preset(str(tmp_path / "ner"))
    back = kbr.BertTokenClassifier.from_preset(str(tmp_path / "ner"))
    assert back.label_names == ["O", "B-PER", "I-PER"] and back.preprocessor.sequence_length == 12
    x = tagger.preprocessor([["the", "dog", "sat"]])
    np.testing.assert_allclose(to_numpy(back(x)), to_numpy(tagger(x)), atol=1e-6)
    # Arguments given win over the saved ones; a head that no longer fits starts fresh.
    longer = kbr.BertTokenClassifier.from_preset(str(tmp_path / "ner"), sequence_length=16)
    assert longer.preprocessor.sequence_length == 16
    np.testing.assert_allclose(to_numpy(longer(x)), to_numpy(tagger(x)), atol=1e-6)
    with pytest.warns(UserWarning, match="head that does not fit this model"):
        kbr.BertTokenClassifier.from_preset(str(tmp_path / "ner"), label_names=["O", "B", "I", "E"])
    # Its encoder serves other tasks (a fresh head) and the backbone.
    classifier = kbr.BertClassifier.from_preset(str(tmp_path / "ner"), num_classes=2)
    np.testing.assert_array_equal(to_numpy(classifier.backbone.token_embedding.embeddings),
                                  to_numpy(tagger.backbone.token_embedding.embeddings))


class BertBackboneKerasHubHarnessTest(KerasHubTestCase):
    """keras-hub's own backbone tests (its wheel's test harness), as every keras-hub
    backbone passes them: serialization, variable lengths, tf.data predict, the
    default name, mixed precision on every sublayer, int8/float8 quantization and
    the .keras round trip."""

    def setUp(self):
        self.init_kwargs = dict(vocabulary_size=10, num_layers=2, num_heads=2, hidden_dim=2,
                                intermediate_dim=4, max_sequence_length=5)
        self.input_data = {"token_ids": np.ones((2, 5), dtype="int32"),
                           "segment_ids": np.zeros((2, 5), dtype="int32"),
                           "padding_mask": np.ones((2, 5), dtype="int32")}

    def test_backbone_basics(self):
        self.run_backbone_test(
            cls=kbr.BertBackbone, init_kwargs=self.init_kwargs, input_data=self.input_data,
            expected_output_shape={"sequence_output": (2, 5, 2), "pooled_output": (2, 2)})

    def test_saved_model(self):
        self.run_model_saving_test(cls=kbr.BertBackbone, init_kwargs=self.init_kwargs,
                                   input_data=self.input_data)


VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "quick", "brown", "fox", "a",
         "dog", "sat", "on", "mat", ".", "?", "where", "did", "it"]
HARNESS_BACKBONE = dict(vocabulary_size=len(VOCAB), num_layers=2, num_heads=2, hidden_dim=4,
                        intermediate_dim=8, max_sequence_length=24)
SENTENCES = ["the quick brown fox.", "a dog sat on the mat."]


def _harness_backbone():
    return kbr.BertBackbone(**HARNESS_BACKBONE)


def _tokenizer():
    return kbr.BertTokenizer(VOCAB)


# The classifier's harness runs in every pass, every task's in the torch pass (about
# 2 s a task there); on TF and JAX the harness's three fits compile three train steps
# (15-35 s a task under make test's load): CI's time.
HARNESS_TASKS_BY_BACKEND = {"tensorflow": [], "jax": [],
                            "torch": ["question_answerer", "multiple_choice",
                                      "feature_classifier", "token_classifier", "pretrainer"]}


def _harness_runs(name):
    """Whether this pass runs `name`'s harness (HARNESS_ALL=1: every task, any backend)."""
    here = HARNESS_TASKS_BY_BACKEND[keras.backend.backend()] or ()
    return pytest.mark.skipif(name not in here and not os.environ.get("HARNESS_ALL"),
                              reason=f"the {name} harness runs in another backend's pass")


class TaskKerasHubHarnessTest(KerasHubTestCase):
    """keras-hub's `run_task_test` (its wheel's harness) on the tasks: config round
    trip, the preprocessor's `(x, y, sample_weight)` protocol matching the model's
    inputs, predict on raw text = on a dataset = on a dataset mapped through the
    preprocessor with `task.preprocessor = None`, fit on each, and `compile=False`.

    Where `predict` on raw input returns decoded predictions by design (one label
    per word for NER, answer strings for SQuAD) and pre-training masks at random,
    the same checks run but the raw-vs-preprocessed predict comparison, which is
    replaced by the logits' shape on preprocessed input."""

    def test_classifier(self):
        preprocessor = kbr.BertPreprocessor(_tokenizer(), sequence_length=12)
        self.run_task_test(
            cls=kbr.BertClassifier,
            init_kwargs=dict(backbone=_harness_backbone(), preprocessor=preprocessor,
                             num_classes=2),
            train_data=(SENTENCES, np.array([1, 0])), expected_output_shape=(2, 2))

    @_harness_runs("feature_classifier")
    def test_feature_classifier(self):
        preprocessor = kbr.BertPreprocessor(_tokenizer(), sequence_length=12)
        self.run_task_test(
            cls=kbr.BertFeatureClassifier,
            init_kwargs=dict(backbone=_harness_backbone(), preprocessor=preprocessor,
                             num_classes=3, feature_layers=(-2, -1)),
            train_data=((SENTENCES, SENTENCES[::-1]), np.array([2, 0])),
            expected_output_shape=(2, 3))

    @_harness_runs("multiple_choice")
    def test_multiple_choice(self):
        preprocessor = kbr.BertMultipleChoicePreprocessor(_tokenizer(), sequence_length=12)
        endings = np.array([["the dog sat.", "a fox sat."], ["on the mat.", "the fox?"]])
        self.run_task_test(
            cls=kbr.BertMultipleChoice,
            init_kwargs=dict(backbone=_harness_backbone(), preprocessor=preprocessor,
                             num_choices=2),
            train_data=((np.array(SENTENCES), endings), np.array([0, 1])),
            expected_output_shape=(2, 2))

    def _run_task_checks(self, task, x, y, dataset, preprocessed, logits_shape,
                         compile_off):
        """run_task_test's checks after its serialization test and raw predicts, but
        the raw-vs-preprocessed predict comparison."""
        preprocessor = task.preprocessor
        keras.tree.assert_same_paths(preprocessed[0], task._inputs_struct)
        task.preprocessor = None
        logits = task.predict(dataset.map(preprocessor) if preprocessed is None
                              else preprocessed[0])
        self.assertEqual(tuple(keras.tree.flatten(logits)[0].shape), logits_shape)
        x_pre, y_pre, weights = keras.utils.unpack_x_y_sample_weight(preprocessed)
        task.fit(x_pre, y_pre, sample_weight=weights)
        task.preprocessor = preprocessor
        task.fit(x, y)
        with self.assertRaisesRegex(ValueError, "You must call `compile"):
            compile_off().fit(x, y)

    @_harness_runs("token_classifier")
    def test_token_classifier(self):
        preprocessor = kbr.BertWordPreprocessor(_tokenizer(), sequence_length=12)
        words = [s.split() for s in SENTENCES]
        labels = [[1, 0, 2, 0], [0, 1, 1, 0, 2, 0]]
        kwargs = dict(backbone=_harness_backbone(), preprocessor=preprocessor, num_classes=3)
        task = kbr.BertTokenClassifier(**kwargs)
        self.run_serialization_test(task)
        x, y = tf.ragged.constant(words), tf.ragged.constant(labels)
        dataset = tf.data.Dataset.from_tensor_slices((x, y)).ragged_batch(2)
        predicted = task.predict(words)
        for ours, from_dataset in zip(predicted, task.predict(dataset)):
            np.testing.assert_array_equal(ours, from_dataset)  # one label per word
        self.assertEqual([len(p) for p in predicted], [4, 6])
        task.fit(dataset)
        self._run_task_checks(task, words, labels, dataset, preprocessor(x, y), (2, 12, 3),
                              lambda: kbr.BertTokenClassifier(**kwargs, compile=False))

    @_harness_runs("question_answerer")
    def test_question_answerer(self):
        preprocessor = kbr.BertSquadPreprocessor(_tokenizer(), sequence_length=16,
                                                 doc_stride=4, max_query_length=4)
        x = (["where did it sit?", "where did the fox sit?"], SENTENCES[::-1])
        y = [{"text": "the mat", "answer_start": 13}, None]
        kwargs = dict(backbone=_harness_backbone(), preprocessor=preprocessor)
        task = kbr.BertQuestionAnswerer(**kwargs)
        self.run_serialization_test(task)
        answers = task.predict(x)  # one answer string per question
        self.assertEqual(len(answers), 2)
        self.assertTrue(all(isinstance(a, str) for a in answers))
        features = preprocessor(x, answers=y)
        self._run_task_checks(task, x, y, None, (features.inputs, features.positions),
                              (len(features), 2, 16),
                              lambda: kbr.BertQuestionAnswerer(**kwargs, compile=False))

    @_harness_runs("pretrainer")
    def test_pretrainer(self):
        preprocessor = kbr.BertPretrainingPreprocessor(_tokenizer(), sequence_length=16,
                                                       max_predictions_per_seq=4, seed=1)
        pairs = (SENTENCES, SENTENCES[::-1], np.array([0, 1]))
        dataset = tf.data.Dataset.from_tensor_slices(pairs).batch(2)
        kwargs = dict(backbone=_harness_backbone(), preprocessor=preprocessor)
        task = kbr.BertPretrainer(**kwargs)
        masked = next(iter(dataset.map(preprocessor)))
        self.run_serialization_test(task)
        keras.tree.assert_same_paths(masked[0], task._inputs_struct)
        task.fit(dataset)  # raw text through the preprocessor
        task.preprocessor = None
        outputs = task.predict(dataset.map(preprocessor))
        self.assertEqual(tuple(outputs["mlm"].shape), (2, 4, len(VOCAB)))
        task.fit(dataset.map(preprocessor))
        task.preprocessor = preprocessor
        with self.assertRaisesRegex(ValueError, "You must call `compile"):
            kbr.BertPretrainer(**kwargs, compile=False).fit(dataset)
