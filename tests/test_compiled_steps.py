"""Compiled and eager train steps agree (issue 18): XLA on TensorFlow and JAX
(`jit_compile=True`) and `torch.compile` on torch against the same step run
eagerly (`jit_compile=False`), for the classifier and the pre-trainer, on a batch
with padded and unpadded rows; and how often a fit on length buckets compiles.

The loss and every gradient (read off one SGD step) must agree within 1e-5,
relative to the largest gradient. On torch, `make test` compiles with the
"aot_eager" backend (see `torch_compile_backend`); `TORCH_COMPILE_BACKEND=inductor`
runs torch.compile's default.
"""

import os

import keras
import numpy as np
import pytest

import keras_bert_repro as kbr
from keras_bert_repro.data import read_glue
from tests.conftest import shared_data, to_numpy

LR = 0.5
TINY = dict(vocabulary_size=1000, num_layers=1, num_heads=2, hidden_dim=32, intermediate_dim=64,
            max_sequence_length=64, dropout=0.0, attention_dropout=0.0)


def _ids(rng, batch, length, lengths):
    padding = (np.arange(length)[None, :] < np.asarray(lengths)[:, None]).astype("int32")
    ids = rng.integers(5, 1000, (batch, length)).astype("int32") * padding
    segments = (np.arange(length)[None, :] >= np.asarray(lengths)[:, None] // 2) * padding
    return {"token_ids": ids, "segment_ids": segments.astype("int32"), "padding_mask": padding}


@pytest.fixture(autouse=True)
def torch_compile_backend(monkeypatch):
    """On torch, `make test` compiles with backend="aot_eager": dynamo's graph capture
    and AOTAutograd's forward/backward graphs (where a model can go wrong), without
    inductor's C++ code generation (over a minute per model on 2 cores).
    `TORCH_COMPILE_BACKEND=inductor` runs the default backend (both passed on 2026-12-07)."""
    backend = os.environ.get("TORCH_COMPILE_BACKEND", "aot_eager")
    if keras.backend.backend() == "torch" and backend != "inductor":
        import torch

        original = torch.compile
        monkeypatch.setattr(torch, "compile",
                            lambda fn=None, **kwargs: original(fn, **{**kwargs,
                                                                      "backend": backend}))


def _one_step(make, x, y, sample_weight, jit_compile):
    keras.utils.set_random_seed(0)
    model = make()
    model.compile(optimizer=keras.optimizers.SGD(LR), jit_compile=jit_compile)
    before = [to_numpy(w) for w in model.trainable_weights]
    logs = model.train_on_batch(x, y, sample_weight=sample_weight, return_dict=True)
    gradients = [(b - to_numpy(w)) / LR for b, w in zip(before, model.trainable_weights)]
    return logs["loss"], gradients


def _check_agree(make, x, y, sample_weight=None):
    eager_loss, eager = _one_step(make, x, y, sample_weight, jit_compile=False)
    loss, compiled = _one_step(make, x, y, sample_weight, jit_compile=True)
    np.testing.assert_allclose(loss, eager_loss, rtol=1e-5)
    scale = max(np.abs(g).max() for g in eager)
    assert scale > 1e-3  # the step moved the weights
    for got, want in zip(compiled, eager):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * scale)


def test_classifier_compiled_step_equals_the_eager_one():
    rng = np.random.default_rng(0)
    x = _ids(rng, 4, 32, [32, 20, 9, 3])  # one row unpadded, three padded
    y = np.array([0, 1, 2, 1])
    _check_agree(lambda: kbr.BertClassifier(kbr.BertBackbone(**TINY), num_classes=3,
                                            dropout=0.0), x, y)


def test_pretrainer_compiled_step_equals_the_eager_one():
    rng = np.random.default_rng(1)
    x = _ids(rng, 3, 32, [32, 24, 11])
    x["mask_positions"] = np.array([[1, 5, 9, 30], [2, 4, 20, 0], [1, 3, 7, 0]], "int32")
    weights = np.array([[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 1, 0]], "float32")
    y = {"mlm": rng.integers(5, 1000, (3, 4)).astype("int32"), "nsp": np.array([0, 1, 1])}
    _check_agree(lambda: kbr.BertPretrainer(kbr.BertBackbone(**TINY)), x, y,
                 {"mlm": weights, "nsp": np.ones(3, "float32")})


def test_a_fit_on_length_buckets_compiles_once_per_shape_not_per_batch(minilm_dir):
    """Texts batched by length (`group_by_length`, buckets of `pad_to_multiple_of`)
    give a few batch shapes; the step is traced (compiled) once per shape. The
    count for a whole SST-2 epoch is in benchmarks/RESULTS.md ("compilations")."""
    texts, labels = read_glue(str(shared_data("glue")), "sst2", "dev")
    texts, labels = texts[:320], labels[:320]
    keras.utils.set_random_seed(0)
    preprocessor = kbr.BertPreprocessor.from_preset(minilm_dir, sequence_length=64,
                                                    pad_to_multiple_of=16)
    model = kbr.BertClassifier(kbr.BertBackbone(**{**TINY, "vocabulary_size": 30522}),
                               num_classes=2, preprocessor=preprocessor)
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    traced, step = [], model.train_step

    def counting_step(*args):
        data = args[-1]
        traced.append(tuple(data[0]["token_ids"].shape))
        return step(*args)

    model.train_step = counting_step
    model.fit(texts, labels, batch_size=16, epochs=1, verbose=0)
    shapes = set(traced)
    print(f"{len(traced)} traces of the train step for 20 batches, shapes {sorted(shapes)}")
    if keras.backend.backend() != "torch" or model.jit_compile:  # eager torch: every step
        assert len(traced) <= len(shapes) + 1 and len(traced) < 20, traced
    assert len(shapes) <= 5  # batch x {16, 32, 48, 64} (+ a smaller last batch)
