"""BertBackbone: shapes, serialization, masking, feature extraction, bad input."""

import os

import keras
import numpy as np
import pytest

import keras_bert_repro as kbr
from keras_bert_repro.layers import Dense, Dropout, MultiHeadSelfAttention, attention
from tests.conftest import to_numpy

TINY = dict(vocabulary_size=200, num_layers=2, num_heads=2, hidden_dim=32,
            intermediate_dim=64, max_sequence_length=16)


def tiny_inputs(batch=2, length=8, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, TINY["vocabulary_size"], size=(batch, length)).astype("int32")
    mask = np.ones_like(ids)
    mask[1, length // 2:] = 0
    ids[mask == 0] = 0
    seg = np.zeros_like(ids)
    seg[:, length // 2:] = 1
    seg[mask == 0] = 0
    return {"token_ids": ids, "segment_ids": seg, "padding_mask": mask}


@pytest.fixture(scope="module")
def backbone():
    keras.utils.set_random_seed(1)
    return kbr.BertBackbone(**TINY, dropout=0.0)


def test_output_shapes_and_pooler_reads_cls(backbone):
    out = backbone(tiny_inputs())
    assert tuple(out["sequence_output"].shape) == (2, 8, 32)
    assert tuple(out["pooled_output"].shape) == (2, 32)
    pooled = backbone.get_layer("pooled_dense")(out["sequence_output"][:, 0, :])
    np.testing.assert_allclose(to_numpy(out["pooled_output"]), to_numpy(pooled), atol=1e-6)
    assert np.abs(to_numpy(out["pooled_output"])).max() <= 1.0  # tanh


def test_parameter_count_of_bert_base_matches_the_paper():
    bb = kbr.BertBackbone(vocabulary_size=30522, num_layers=12, num_heads=12, hidden_dim=768,
                          intermediate_dim=3072)
    assert 109e6 < bb.count_params() < 110.5e6  # "110M"


def test_padding_does_not_change_real_positions(backbone):
    inputs = tiny_inputs()
    out = to_numpy(backbone(inputs)["sequence_output"])
    longer = {k: np.pad(v, ((0, 0), (0, 4))) for k, v in inputs.items()}
    longer["token_ids"][:, -4:] = 7  # garbage under the mask must be ignored
    out_longer = to_numpy(backbone(longer)["sequence_output"])
    real = inputs["padding_mask"].astype(bool)
    np.testing.assert_allclose(out[real], out_longer[:, :8][real], atol=1e-5)


def test_get_config_round_trip(backbone):
    clone = kbr.BertBackbone.from_config(backbone.get_config())
    assert clone.get_config() == backbone.get_config()
    assert clone.count_params() == backbone.count_params()


def test_keras_file_save_and_load_give_identical_outputs(backbone, tmp_path):
    path = os.path.join(tmp_path, "backbone.keras")
    backbone.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored, kbr.BertBackbone)
    inputs = tiny_inputs()
    for key in ("sequence_output", "pooled_output"):
        np.testing.assert_array_equal(to_numpy(backbone(inputs)[key]),
                                      to_numpy(restored(inputs)[key]))


def test_predict_runs_compiled(backbone):
    inputs = tiny_inputs(batch=4)
    out = backbone.predict(inputs, batch_size=2, verbose=0)
    np.testing.assert_allclose(out["sequence_output"],
                               to_numpy(backbone(inputs)["sequence_output"]), atol=1e-5)


def test_gelu_forms_differ_and_unknown_form_is_rejected():
    keras.utils.set_random_seed(2)
    exact = kbr.BertBackbone(**TINY, activation="gelu")
    approx = kbr.BertBackbone(**TINY, activation="gelu_approximate")
    approx.set_weights(exact.get_weights())
    inputs = tiny_inputs()
    diff = np.abs(to_numpy(exact(inputs)["sequence_output"])
                  - to_numpy(approx(inputs)["sequence_output"])).max()
    assert 0 < diff < 0.1
    with pytest.raises(ValueError, match="activation"):
        kbr.BertBackbone(**TINY, activation="relu")


def test_feature_extractor_concatenates_last_four_layers():
    keras.utils.set_random_seed(3)
    bb = kbr.BertBackbone(**{**TINY, "num_layers": 4}, dropout=0.0)
    inputs = tiny_inputs()
    feats = to_numpy(bb.feature_extractor()(inputs))
    assert feats.shape == (2, 8, 4 * 32)
    np.testing.assert_allclose(feats[..., -32:], to_numpy(bb(inputs)["sequence_output"]),
                               atol=1e-5)
    states = bb.feature_extractor(layers=range(5), combine=None)(inputs)
    assert len(states) == 5
    np.testing.assert_allclose(feats[..., :32], to_numpy(states[1]), atol=1e-5)


def test_dropout_is_active_only_in_training():
    keras.utils.set_random_seed(4)
    bb = kbr.BertBackbone(**TINY, dropout=0.5)
    inputs = tiny_inputs()
    a = to_numpy(bb(inputs, training=False)["sequence_output"])
    b = to_numpy(bb(inputs, training=False)["sequence_output"])
    c = to_numpy(bb(inputs, training=True)["sequence_output"])
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-3


def test_attention_dropout_is_separate_and_kept_in_the_config():
    keras.utils.set_random_seed(4)
    bb = kbr.BertBackbone(**TINY, dropout=0.0, attention_dropout=0.5)
    inputs = tiny_inputs()
    a = to_numpy(bb(inputs, training=True)["sequence_output"])
    b = to_numpy(bb(inputs, training=False)["sequence_output"])
    assert np.abs(a - b).max() > 1e-3  # only the attention probabilities dropped
    clone = kbr.BertBackbone.from_config(bb.get_config())
    assert (clone.dropout, clone.attention_dropout) == (0.0, 0.5)
    no_attention = kbr.BertBackbone(**TINY, attention_dropout=0.0)
    assert no_attention.dropout == 0.1 and no_attention.attention_dropout == 0.0
    assert kbr.BertBackbone(**TINY, dropout=0.2).attention_dropout == 0.2


def test_dropout_layer_scales_kept_units_and_drops_about_the_rate():
    keras.utils.set_random_seed(3)
    out = to_numpy(Dropout(0.25)(keras.ops.ones((200, 200)), training=True))
    kept = out != 0
    np.testing.assert_allclose(out[kept], 1 / 0.75, rtol=1e-6)
    assert abs(1 - kept.mean() - 0.25) < 0.01
    np.testing.assert_array_equal(to_numpy(Dropout(0.25)(keras.ops.ones((3, 3)))), 1.0)
    # Independent across calls and between neighbouring elements (JAX hashes indices).
    layer = Dropout(0.5)
    a, b = (to_numpy(layer(keras.ops.ones((400, 400)), training=True)) != 0 for _ in range(2))
    assert abs((a & b).mean() - 0.25) < 0.01
    assert abs((a[:, 1:] & a[:, :-1]).mean() - 0.25) < 0.01
    assert abs((a[1:] & a[:-1]).mean() - 0.25) < 0.01


def test_both_attention_paths_match_keras_dot_product_attention():
    """The explicit softmax (training with attention dropout; inference on TF and
    JAX's CPU) and the layer's inference path both equal keras.ops.dot_product_attention."""
    keras.utils.set_random_seed(5)
    att = MultiHeadSelfAttention(num_heads=4, attention_dropout=1e-7)
    x = keras.random.normal((2, 6, 32))
    mask = np.array([[1] * 6, [1, 1, 1, 0, 0, 0]], "int32")
    inference = to_numpy(att(x, padding_mask=mask, training=False))
    heads = [keras.ops.reshape(dense(x), (2, 6, 4, 8))
             for dense in (att.query_dense, att.key_dense, att.value_dense)]
    fused = keras.ops.dot_product_attention(*heads, mask=keras.ops.cast(mask, "bool")[:, None, None, :])
    reference = to_numpy(att.output_dense(keras.ops.reshape(fused, (2, 6, 32))))
    np.testing.assert_allclose(inference, reference, atol=1e-5)
    np.testing.assert_allclose(to_numpy(att(x, padding_mask=mask, training=True)), reference,
                               atol=1e-5)


# On torch the GPU path differs (SDPA's own dropout): it is taken here on the CPU too.
@pytest.mark.parametrize("accelerator", [False, True] if keras.backend.backend() == "torch"
                         else [False])
def test_attention_dropout_keeps_its_rate_in_training(monkeypatch, accelerator):
    """Uniform attention (zero query/key kernels) over one-hot values: each output
    entry is one attention probability, 0 where dropped and 1/(L(1 - rate)) where
    kept. `accelerator=True` takes the layer's GPU path (on torch, SDPA's own
    `dropout_p`); the CPU path is the explicit softmax's dropout."""
    if accelerator:
        monkeypatch.setattr(attention, "on_accelerator", lambda x: True)
        monkeypatch.setattr(MultiHeadSelfAttention, "_explicit_attention", None)  # unused
    length, rate = 64, 0.1
    att = MultiHeadSelfAttention(num_heads=1, attention_dropout=rate)
    att.build((16, length, length))
    for dense in (att.query_dense, att.key_dense, att.value_dense, att.output_dense):
        dense.kernel.assign(np.zeros((length, length), "float32") if dense in (
            att.query_dense, att.key_dense) else np.eye(length, dtype="float32"))
        dense.bias.assign(np.zeros(length, "float32"))
    x = np.tile(np.eye(length, dtype="float32"), (16, 1, 1))
    mask = np.ones((16, length), "int32")
    out = to_numpy(att(x, padding_mask=mask, training=True))
    dropped = out == 0
    assert abs(dropped.mean() - rate) < 0.01, dropped.mean()  # 65,536 draws: sd 0.0012
    np.testing.assert_allclose(out[~dropped], 1 / (length * (1 - rate)), rtol=1e-5)
    assert dropped.any(axis=(1, 2)).all() and not dropped.all(axis=-1).any()
    np.testing.assert_allclose(to_numpy(att(x, padding_mask=mask, training=False)),
                               1 / length, rtol=1e-5)  # no dropout in inference


def test_dense_layer_trains_exactly_as_keras_dense():
    """Our Dense has its own gradient on JAX; one SGD step on 3-D inputs must move
    kernel, bias and the layer below exactly as keras.layers.Dense does."""
    keras.utils.set_random_seed(4)
    x = np.random.default_rng(0).normal(size=(4, 5, 6)).astype("float32")
    y = np.random.default_rng(1).normal(size=(4, 5, 3)).astype("float32")
    models = []
    for dense in (Dense, keras.layers.Dense):
        inputs = keras.Input((5, 6))
        model = keras.Model(inputs, dense(3, name="top")(keras.layers.Dense(6, name="below")(inputs)))
        model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
        models.append(model)
    start = models[0].get_weights()
    models[1].set_weights(start)
    for model in models:
        model.train_on_batch(x, y)
    for ours, theirs, before in zip(*(m.get_weights() for m in models), start):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
        assert np.abs(ours - before).max() > 1e-3  # every weight moved


def test_dropout_layer_at_a_vanishing_rate_keeps_everything():
    out = to_numpy(Dropout(1e-7)(keras.ops.ones((300, 300)), training=True))
    np.testing.assert_allclose(out, 1.0, rtol=1e-6)


@pytest.mark.parametrize("causal", [False, True])
def test_pool_runs_the_last_block_on_cls_only_and_equals_pooled_output(causal):
    keras.utils.set_random_seed(2)
    bb = kbr.BertBackbone(**TINY, causal=causal)
    inputs = tiny_inputs(batch=3, length=10)
    full = to_numpy(bb(inputs)["pooled_output"])
    np.testing.assert_allclose(to_numpy(bb.pool(inputs)), full, atol=1e-6)
    # In a functional graph too, and the last block really computes one position.
    pooled_model = keras.Model(bb.input, bb.pool(bb.input))
    np.testing.assert_allclose(to_numpy(pooled_model(inputs)), full, atol=1e-6)
    last = bb.get_layer(f"transformer_layer_{TINY['num_layers'] - 1}")
    x = keras.random.normal((3, 10, TINY["hidden_dim"]))
    assert tuple(last(x, first_token_only=True).shape) == (3, 1, TINY["hidden_dim"])
    with pytest.raises(ValueError, match="outside"):
        bb.pool({**inputs, "token_ids": inputs["token_ids"] + TINY["vocabulary_size"]})


def test_first_token_only_attention_slices_an_attention_mask():
    keras.utils.set_random_seed(6)
    att = MultiHeadSelfAttention(num_heads=2)
    x = keras.random.normal((2, 5, 16))
    allowed = np.tril(np.ones((5, 5), "int32"))[None].repeat(2, 0)
    allowed[:, 0, 2] = 1
    full = to_numpy(att(x, attention_mask=allowed))
    first = to_numpy(att(x, attention_mask=allowed, first_token_only=True))
    np.testing.assert_allclose(first, full[:, :1], atol=1e-6)


def test_mixed_precision_runs_in_bfloat16():
    bb = kbr.BertBackbone(**TINY, dtype="mixed_bfloat16")
    out = bb(tiny_inputs())
    assert keras.backend.standardize_dtype(out["sequence_output"].dtype) == "bfloat16"
    assert bb.get_layer("token_embedding").embeddings.dtype == "float32"


def test_bfloat16_outputs_follow_float32_and_layer_norm_statistics_stay_float32():
    """`mixed_bfloat16` (issue 18): the same weights give float32's outputs within
    bf16 rounding, padded rows included; LayerNorm's mean and variance are float32
    (Keras takes the variance as E[x^2] - E[x]^2: for 64 units of 256 +- 2, where
    bf16's spacing is 512 at 65,536, that difference in bf16 is 0, not 2.7)."""
    keras.utils.set_random_seed(7)
    wide = dict(TINY, hidden_dim=64, intermediate_dim=128)
    full = kbr.BertBackbone(**wide)
    half = kbr.BertBackbone(**wide, dtype="mixed_bfloat16")
    half.set_weights(full.get_weights())
    inputs = tiny_inputs()
    for key in ("sequence_output", "pooled_output"):
        want = to_numpy(full(inputs)[key])
        got = to_numpy(keras.ops.cast(half(inputs)[key], "float32"))
        np.testing.assert_allclose(got, want, atol=0.05 * np.abs(want).max())
    norm = half.get_layer("transformer_layer_0").output_layer_norm
    x = 256.0 + 2.0 * np.tile([-1.0, 0.0, 1.0], 22)[:64].astype("float32")  # exact in bf16
    x = keras.ops.cast(np.stack([x, x[::-1]])[:, None, :], "bfloat16")
    gamma, beta = (to_numpy(w) for w in (norm.gamma, norm.beta))
    raw = to_numpy(keras.ops.cast(x, "float32"))
    want = (raw - raw.mean(-1, keepdims=True)) / np.sqrt(raw.var(-1, keepdims=True) + 1e-12)
    got = to_numpy(keras.ops.cast(norm(x), "float32"))
    np.testing.assert_allclose(got, want * gamma + beta, atol=0.02)


@pytest.mark.parametrize("key,value,match", [
    ("token_ids", 200, "token_ids.*outside \\[0, 200\\).*vocabulary_size=200"),
    ("token_ids", -1, "token_ids.*outside"),
    ("segment_ids", 2, "segment_ids.*outside \\[0, 2\\).*num_segments=2"),
])
def test_out_of_range_ids_raise_clear_errors(backbone, key, value, match):
    inputs = tiny_inputs()
    inputs[key] = inputs[key].copy()
    inputs[key][0, 1] = value
    with pytest.raises(ValueError, match=match):
        backbone(inputs)


def test_sequence_longer_than_position_table_raises(backbone):
    inputs = tiny_inputs(length=TINY["max_sequence_length"] + 1)
    with pytest.raises(ValueError, match="longer than the position table.*max_sequence_length=16"):
        backbone(inputs)


def test_missing_input_key_raises(backbone):
    inputs = tiny_inputs()
    del inputs["segment_ids"]
    with pytest.raises(KeyError, match="segment_ids"):
        backbone(inputs)
