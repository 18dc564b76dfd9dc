"""Optimizers: LAMB's update against a numpy transcription of the paper, decay
exclusions, gradient accumulation, on every backend."""

import keras
import numpy as np
import pytest

from keras_bert_repro.training import WarmupLinearDecay
from keras_bert_repro.training.optimizers import BertLamb, bert_adamw, bert_lamb
from tests.conftest import to_numpy

KERNEL = np.array([[0.5, -1.0], [2.0, 0.25]], "float32")
BIAS = np.array([0.3, -0.2], "float32")
GRADS = [
    (np.array([[0.1, -0.2], [0.3, 0.05]], "float32"), np.array([0.4, -0.1], "float32")),
    (np.array([[-0.3, 0.1], [0.2, 0.2]], "float32"), np.array([0.2, 0.3], "float32")),
]


def variables():
    return [keras.Variable(KERNEL, name="kernel"), keras.Variable(BIAS, name="bias")]


def numpy_lamb(steps, lr=0.1, wd=0.01, b1=0.9, b2=0.999, eps=1e-6):
    """You et al. (2019), Algorithm 2, with decay and trust ratio only on the kernel."""
    weights = [KERNEL.astype("float64"), BIAS.astype("float64")]
    m = [np.zeros_like(w) for w in weights]
    v = [np.zeros_like(w) for w in weights]
    for t, grads in enumerate(GRADS[:steps], start=1):
        for i, g in enumerate(grads):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            r = (m[i] / (1 - b1 ** t)) / (np.sqrt(v[i] / (1 - b2 ** t)) + eps)
            if i == 0:  # the kernel: decayed and layer-adapted
                r = r + wd * weights[i]
                r = np.linalg.norm(weights[i]) / np.linalg.norm(r) * r
            weights[i] = weights[i] - lr * r
    return weights


def test_lamb_matches_the_paper_and_spares_bias():
    """Also the torch backend's fused (`torch._foreach_*`) update path."""
    opt = BertLamb(learning_rate=0.1, weight_decay=0.01, epsilon=1e-6)
    var = variables()
    for grads in GRADS:
        opt.apply([keras.ops.convert_to_tensor(g) for g in grads], var)
    for ours, expected in zip(var, numpy_lamb(2)):
        np.testing.assert_allclose(to_numpy(ours), expected, rtol=1e-5, atol=1e-6)
    # Keras' own Lamb decays outside the ratio and adapts the bias: a different step.
    theirs = keras.optimizers.Lamb(learning_rate=0.1, weight_decay=0.01, epsilon=1e-6)
    other = variables()
    for grads in GRADS:
        theirs.apply([keras.ops.convert_to_tensor(g) for g in grads], other)
    assert np.abs(to_numpy(other[1]) - numpy_lamb(2)[1]).max() > 1e-3


def test_bert_lamb_config_round_trip_keeps_exclusions_and_clipping():
    opt = bert_lamb(1e-3, total_steps=100, warmup_steps=10, gradient_accumulation_steps=4)
    assert opt.global_clipnorm == 1.0 and opt.weight_decay == 0.01
    clone = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert isinstance(clone, BertLamb)
    assert clone.exclude_from_weight_decay_names == ("gamma", "beta", "bias")
    assert clone.gradient_accumulation_steps == 4


def test_adamw_decays_kernels_not_biases():
    opt = bert_adamw(0.1, weight_decay=0.5, clipnorm=None)
    var = variables()
    opt.apply([keras.ops.zeros((2, 2)), keras.ops.zeros((2,))], var)
    np.testing.assert_allclose(to_numpy(var[0]), KERNEL * (1 - 0.1 * 0.5), rtol=1e-6)
    np.testing.assert_array_equal(to_numpy(var[1]), BIAS)


@pytest.mark.parametrize("make", [bert_adamw, bert_lamb])
def test_accumulation_applies_the_mean_gradient_every_n_batches(make):
    accumulating = make(0.1, gradient_accumulation_steps=2)
    acc_vars = variables()
    accumulating.apply([keras.ops.convert_to_tensor(g) for g in GRADS[0]], acc_vars)
    np.testing.assert_array_equal(to_numpy(acc_vars[0]), KERNEL)  # nothing applied yet
    accumulating.apply([keras.ops.convert_to_tensor(g) for g in GRADS[1]], acc_vars)
    assert int(to_numpy(accumulating.iterations)) == 1

    direct = make(0.1)
    direct_vars = variables()
    mean = [(a + b) / 2 for a, b in zip(*GRADS)]
    direct.apply([keras.ops.convert_to_tensor(g) for g in mean], direct_vars)
    for a, b in zip(acc_vars, direct_vars):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), rtol=1e-6, atol=1e-7)
    assert np.abs(to_numpy(acc_vars[0]) - KERNEL).max() > 1e-3


def test_schedules_count_batches_under_accumulation():
    schedule = WarmupLinearDecay(1.0, total_steps=10, warmup_steps=4)
    opt = bert_adamw(schedule, gradient_accumulation_steps=2)
    var = variables()
    for grads in GRADS:
        opt.apply([keras.ops.convert_to_tensor(g) for g in grads], var)
    assert float(to_numpy(opt.learning_rate)) == pytest.approx(0.5)  # batch 2 of 4 warm-up


def numpy_adamw(steps, lr=0.1, wd=0.01, b1=0.9, b2=0.999, eps=1e-6):
    """Decoupled AdamW (Loshchilov & Hutter) with Keras' order: decay, then the Adam step
    (epsilon after the bias correction, as torch.optim.AdamW); decay on the kernel only."""
    weights = [KERNEL.astype("float64"), BIAS.astype("float64")]
    m = [np.zeros_like(w) for w in weights]
    v = [np.zeros_like(w) for w in weights]
    for t, grads in enumerate(GRADS[:steps], start=1):
        weights[0] = weights[0] * (1 - lr * wd)
        for i, g in enumerate(grads):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            m_hat, v_hat = m[i] / (1 - b1 ** t), v[i] / (1 - b2 ** t)
            weights[i] = weights[i] - lr * m_hat / (np.sqrt(v_hat) + eps)
    return weights


def test_adamw_update_matches_numpy():
    """Also the torch backend's fused (`torch._foreach_*`) update path."""
    opt = bert_adamw(WarmupLinearDecay(0.1, total_steps=None), clipnorm=None)
    var = variables()
    for grads in GRADS:
        opt.apply([keras.ops.convert_to_tensor(g) for g in grads], var)
    for got, want in zip(var, numpy_adamw(len(GRADS))):
        np.testing.assert_allclose(to_numpy(got), want, atol=1e-5)  # float32 rounding
    assert np.abs(to_numpy(var[0]) - KERNEL).max() > 0.05  # it did move


@pytest.mark.parametrize("scale", [1.0, 1e-6])
def test_adamw_steps_as_torch_adamw(scale):
    """HF's fine-tuning optimizer is torch.optim.AdamW: the same steps, also with
    gradients near epsilon, where Keras' own Adam (epsilon before the bias
    correction) moves ~0.6x as far in the first step."""
    import torch

    rng = np.random.default_rng(0)
    grads = [[scale * rng.normal(size=w.shape).astype("float32") for w in (KERNEL, BIAS)]
             for _ in range(5)]
    opt = bert_adamw(WarmupLinearDecay(1e-3, total_steps=None), clipnorm=None)
    var = variables()
    theirs = [torch.nn.Parameter(torch.tensor(w)) for w in (KERNEL, BIAS)]
    torch_opt = torch.optim.AdamW([{"params": theirs[:1], "weight_decay": 0.01},
                                   {"params": theirs[1:], "weight_decay": 0.0}],
                                  lr=1e-3, eps=1e-6)
    for step_grads in grads:
        opt.apply([keras.ops.convert_to_tensor(g) for g in step_grads], var)
        for p, g in zip(theirs, step_grads):
            p.grad = torch.tensor(g)
        torch_opt.step()
        for got, want, start in zip(var, theirs, (KERNEL, BIAS)):
            moved = want.detach().numpy() - start
            np.testing.assert_allclose(to_numpy(got) - start, moved, rtol=1e-3, atol=1e-9)
