"""BertPretrainer: the pre-training contract's shapes, the weighted MLM loss, the tied
decoder, the left-to-right ablation, mixed precision, saving, and the `cls/*` heads
of Google and HF checkpoints against HF's BertForPreTraining."""

import json
import os
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_bert_repro as kbr
from keras_bert_repro.models.pretrainer import BertPretrainer
from keras_bert_repro.training.optimizers import bert_lamb
from tests.conftest import to_numpy
from tests.test_presets import _google_name

SMALL = dict(vocabulary_size=30522, num_layers=2, num_heads=2, hidden_dim=64,
             intermediate_dim=128, max_sequence_length=64, dropout=0.0)
B, L, P = 3, 16, 5
PARITY = 1e-4


def small_backbone(seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    return kbr.BertBackbone(**{**SMALL, **kwargs})


def masked_batch(seed=0):
    """A batch as BertPretrainingPreprocessor makes it; row 1 has two unused slots."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1000, 30000, size=(B, L)).astype("int32")
    padding = np.ones_like(ids)
    padding[2, 10:] = 0
    ids[padding == 0] = 0
    segments = np.zeros_like(ids)
    segments[:, L // 2:] = padding[:, L // 2:]
    positions = np.array([[1, 3, 5, 7, 9], [2, 4, 6, 0, 0], [1, 2, 3, 8, 9]], "int32")
    weights = np.ones((B, P), "float32")
    weights[1, 3:] = 0.0
    labels = rng.integers(1000, 30000, size=(B, P)).astype("int32") * (weights > 0)
    x = {"token_ids": ids, "segment_ids": segments, "padding_mask": padding,
         "mask_positions": positions}
    y = {"mlm": labels.astype("int32"), "nsp": np.array([0, 1, 1], "int32")}
    return x, y, {"mlm": weights, "nsp": np.ones(B, "float32")}


@pytest.fixture(scope="module")
def model():
    return BertPretrainer(small_backbone())


def log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


# --- the contract -------------------------------------------------------------------

def test_outputs_follow_the_contract(model):
    x, _, _ = masked_batch()
    out = model(x)
    assert set(out) == {"mlm", "nsp"}
    assert tuple(out["mlm"].shape) == (B, P, 30522) and tuple(out["nsp"].shape) == (B, 2)
    for logits in out.values():
        assert keras.backend.standardize_dtype(logits.dtype) == "float32"
    mlm_only = BertPretrainer(model.backbone, objective="mlm")
    assert set(mlm_only(x)) == {"mlm"}
    with pytest.raises(ValueError, match="objective must be one of"):
        BertPretrainer(model.backbone, objective="nsp")


def test_decoder_is_the_token_embedding_variable(model):
    head, backbone = model.get_layer("mlm_head"), model.backbone
    embedding = backbone.get_layer("token_embedding").embeddings
    assert head.token_embedding.embeddings is embedding
    # One [vocab, hidden] matrix; the heads add transform (4), output bias, NSP (2).
    assert [w.path for w in model.weights if tuple(w.shape) == (30522, 64)] == [embedding.path]
    assert len({id(w) for w in model.weights}) == len(backbone.weights) + 7
    # The logits are the transformed hidden states times that matrix, plus the bias.
    x, _, _ = masked_batch()
    hidden = to_numpy(backbone({k: x[k] for k in ("token_ids", "segment_ids",
                                                  "padding_mask")})["sequence_output"])
    gathered = np.take_along_axis(hidden, x["mask_positions"][..., None], axis=1)
    h = to_numpy(head.layer_norm(keras.activations.gelu(head.dense(gathered))))
    expected = h @ to_numpy(embedding).T + to_numpy(head.output_bias)
    np.testing.assert_allclose(to_numpy(model(x)["mlm"]), expected, atol=1e-4)


def test_loss_is_the_weighted_mean_over_real_predictions(model):
    x, y, weights = masked_batch()
    out = {k: to_numpy(v) for k, v in model(x).items()}
    mlm = -np.take_along_axis(log_softmax(out["mlm"]), y["mlm"][..., None], -1)[..., 0]
    nsp = -np.take_along_axis(log_softmax(out["nsp"]), y["nsp"][:, None], -1)[:, 0]
    w = weights["mlm"]
    expected_mlm = (mlm * w).sum() / w.sum()
    assert abs(expected_mlm - (mlm * w).mean()) > 0.3  # what dividing by B * P would give
    logs = model.test_on_batch(x, y, sample_weight=weights, return_dict=True)
    assert logs["mlm_loss"] == pytest.approx(expected_mlm, rel=1e-5)
    assert logs["nsp_loss"] == pytest.approx(nsp.mean(), rel=1e-5)
    assert logs["loss"] == pytest.approx(expected_mlm + nsp.mean(), rel=1e-5)
    hits = (out["mlm"].argmax(-1) == y["mlm"]) * w
    assert logs["mlm_accuracy"] == pytest.approx(hits.sum() / w.sum())


# --- left-to-right ablation ---------------------------------------------------------

def test_ltr_objective_makes_the_backbone_causal(model):
    backbone = model.backbone
    ltr = BertPretrainer(backbone, objective="ltr")
    try:
        assert backbone.causal and backbone.get_config()["causal"]
        assert set(ltr.output_names) == {"mlm_head"}
        x, _, _ = masked_batch()
        x = dict(x, mask_positions=np.tile(np.arange(L - 1, dtype="int32"), (B, 1)))
        changed = dict(x, token_ids=x["token_ids"].copy())
        changed["token_ids"][:, 6] += 1
        before, after = to_numpy(ltr(x)["mlm"]), to_numpy(ltr(changed)["mlm"])
        np.testing.assert_allclose(before[:, :6], after[:, :6], atol=1e-5)
        assert np.abs(before[:, 6:] - after[:, 6:]).max() > 1e-3
    finally:
        backbone.causal = False  # bidirectional again: earlier positions see the change
    assert np.abs(to_numpy(ltr(x)["mlm"])[:, :6]
                  - to_numpy(ltr(changed)["mlm"])[:, :6]).max() > 1e-3


# --- optimisation and precision -----------------------------------------------------

class FixedMasks:
    """Stands in for BertPretrainingPreprocessor: masks fixed slots of instance dicts."""

    def dataset(self, dataset):
        def mask(instances):
            ids = instances["token_ids"]
            positions = tf.tile(tf.constant([[1, 3, 5, 7, 9]]), [tf.shape(ids)[0], 1])
            x = {"token_ids": ids, "segment_ids": tf.zeros_like(ids),
                 "padding_mask": tf.ones_like(ids), "mask_positions": positions}
            y = {"mlm": tf.gather(ids, positions, batch_dims=1),
                 "nsp": instances["is_random_next"]}
            weights = {"mlm": tf.ones(tf.shape(positions)), "nsp": tf.ones(tf.shape(ids)[:1])}
            return x, y, weights

        return dataset.map(mask)


def test_fit_preprocesses_instances_accumulates_and_learns_with_lamb():
    model = BertPretrainer(small_backbone(seed=3), preprocessor=FixedMasks())
    model.compile(optimizer=bert_lamb(2e-2, total_steps=1000, warmup_steps=0,
                                      gradient_accumulation_steps=2))
    rng = np.random.default_rng(0)
    instances = tf.data.Dataset.from_tensor_slices({
        "token_ids": rng.integers(1000, 30000, size=(12, L)).astype("int32"),
        "is_random_next": np.array([0, 1] * 6, "int32")}).batch(3)
    kernel = model.get_layer("mlm_head").dense.kernel
    start = to_numpy(kernel).copy()
    model.fit(instances.take(1), verbose=0)
    np.testing.assert_array_equal(to_numpy(kernel), start)  # only accumulated
    model.fit(instances.take(1), verbose=0)
    assert np.abs(to_numpy(kernel) - start).max() > 1e-5
    assert int(to_numpy(model.optimizer.iterations)) == 1
    history = model.fit(instances, epochs=3, verbose=0).history  # 12 more batches
    assert int(to_numpy(model.optimizer.iterations)) == 7
    assert history["loss"][-1] < history["loss"][0] - 0.3, history["loss"]
    with pytest.raises(ValueError, match="tf.data.Dataset"):
        model.fit(["the cat sat ."])


def test_bfloat16_computes_in_bfloat16_with_float32_logits_and_loss():
    model = BertPretrainer(small_backbone(seed=4, dtype="mixed_bfloat16"))
    x, y, weights = masked_batch()
    out = model(x)
    sequence = model.backbone({k: x[k] for k in ("token_ids", "segment_ids", "padding_mask")})
    assert keras.backend.standardize_dtype(sequence["sequence_output"].dtype) == "bfloat16"
    assert model.get_layer("mlm_head").dense.kernel.dtype == "float32"
    for logits in out.values():
        assert keras.backend.standardize_dtype(logits.dtype) == "float32"
    loss = model.compute_loss(x, y, out, weights)
    assert keras.backend.standardize_dtype(loss.dtype) == "float32"
    assert 9 < float(to_numpy(loss)) < 13  # ln(30522) + ln(2), give or take


# --- saving --------------------------------------------------------------------------

def test_keras_file_round_trip_keeps_the_tie(model, tmp_path):
    path = str(tmp_path / "pretrainer.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored, BertPretrainer) and restored.objective == "mlm_nsp"
    x, _, _ = masked_batch()
    for key in ("mlm", "nsp"):
        np.testing.assert_array_equal(to_numpy(model(x)[key]), to_numpy(restored(x)[key]))
    embedding = restored.backbone.get_layer("token_embedding").embeddings
    assert restored.get_layer("mlm_head").token_embedding.embeddings is embedding


# --- pre-training heads from Google and HF checkpoints ------------------------------

# cls/* as google-research/bert's run_pretraining.py names them (independent of the
# library's mapping): HF name -> (Google name, transpose from HF's [out, in]).
GOOGLE_HEADS = {
    "cls.predictions.transform.dense.weight": ("cls/predictions/transform/dense/kernel", True),
    "cls.predictions.transform.dense.bias": ("cls/predictions/transform/dense/bias", False),
    "cls.predictions.transform.LayerNorm.weight": ("cls/predictions/transform/LayerNorm/gamma",
                                                   False),
    "cls.predictions.transform.LayerNorm.bias": ("cls/predictions/transform/LayerNorm/beta",
                                                 False),
    "cls.predictions.bias": ("cls/predictions/output_bias", False),
    "cls.seq_relationship.weight": ("cls/seq_relationship/output_weights", False),  # [2, H]
    "cls.seq_relationship.bias": ("cls/seq_relationship/output_bias", False),
}


def write_google_pretraining_checkpoint(state, hf_config, vocab_file, out_dir):
    variables = {}
    for name, value in state.items():
        if name.startswith("bert."):
            mapped = _google_name(name[len("bert."):])
        else:
            mapped = GOOGLE_HEADS.get(name)
        if mapped:
            variables[mapped[0]] = value.T if mapped[1] else value
    with tf.Graph().as_default():
        tf_vars = [tf.compat.v1.get_variable(n, initializer=tf.constant(v))
                   for n, v in variables.items()]
        saver = tf.compat.v1.train.Saver(tf_vars)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            saver.save(sess, os.path.join(out_dir, "bert_model.ckpt"), write_meta_graph=False)
    config = {k: hf_config[k] for k in (
        "hidden_size", "intermediate_size", "max_position_embeddings", "num_attention_heads",
        "num_hidden_layers", "type_vocab_size", "vocab_size")}
    config["hidden_act"] = "gelu"  # Google's tanh form
    with open(os.path.join(out_dir, "bert_config.json"), "w") as f:
        json.dump(config, f)
    shutil.copy(vocab_file, out_dir)


@pytest.fixture(scope="module")
def pretraining_checkpoints(minilm_dir, tmp_path_factory):
    """MiniLM's encoder with random `cls` heads, as an HF BertForPreTraining directory
    and a Google TF1 checkpoint; `reference(inputs, hidden_act)` runs HF on them."""
    import torch
    import transformers

    hf_dir = str(tmp_path_factory.mktemp("hf_pretraining"))
    google_dir = str(tmp_path_factory.mktemp("google_pretraining"))
    hf_model = transformers.BertForPreTraining.from_pretrained(minilm_dir)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, param in hf_model.cls.named_parameters():
            if "decoder.weight" not in name:  # the tied word embedding
                param.add_(0.05 * torch.randn(param.shape, generator=generator))
    hf_model.save_pretrained(hf_dir)
    vocab = os.path.join(minilm_dir, "vocab.txt")
    shutil.copy(vocab, hf_dir)
    state = {k: v.numpy() for k, v in hf_model.state_dict().items()}
    with open(os.path.join(minilm_dir, "config.json")) as f:
        write_google_pretraining_checkpoint(state, json.load(f), vocab, google_dir)

    def reference(inputs, hidden_act):
        model = transformers.BertForPreTraining.from_pretrained(
            hf_dir, hidden_act=hidden_act).eval()
        with torch.no_grad():
            out = model(input_ids=torch.tensor(inputs["token_ids"]),
                        token_type_ids=torch.tensor(inputs["segment_ids"]),
                        attention_mask=torch.tensor(inputs["padding_mask"]))
        positions = inputs["mask_positions"][..., None]
        return (np.take_along_axis(out.prediction_logits.numpy(), positions, axis=1),
                out.seq_relationship_logits.numpy())

    return hf_dir, google_dir, reference


def with_mask_positions(batch):
    positions = np.array([[1, 5, 20, 23], [2, 3, 9, 16], [1, 2, 3, 4]], "int32")
    return dict(batch, mask_positions=positions)


def assert_heads_match(model, reference, inputs):
    out = model(inputs)
    mlm, nsp = reference
    mlm_diff = float(np.abs(to_numpy(out["mlm"]) - mlm).max())
    nsp_diff = float(np.abs(to_numpy(out["nsp"]) - nsp).max())
    assert mlm_diff <= PARITY, f"MLM logits differ by {mlm_diff}"
    assert nsp_diff <= PARITY, f"NSP logits differ by {nsp_diff}"


def test_hf_pretraining_heads_match_bert_for_pretraining(pretraining_checkpoints,
                                                         padded_pair_batch):
    hf_dir, _, reference = pretraining_checkpoints
    inputs = with_mask_positions(padded_pair_batch)
    model = BertPretrainer.from_preset(hf_dir)
    assert_heads_match(model, reference(inputs, "gelu"), inputs)


def test_part_of_a_head_is_a_clear_error(model):
    from keras_bert_repro.models.weight_assignment import assign_head_weights, head_variables

    variables = head_variables(model.get_layer("mlm_head"), model.get_layer("nsp_head"))
    arrays = {"cls/seq_relationship/output_weights": np.zeros((2, 64), "float32")}
    with pytest.raises(ValueError, match="part of the cls/seq_relationship/.*output_bias"):
        assign_head_weights(variables, arrays, "ckpt")


def test_google_cls_heads_match_bert_for_pretraining(pretraining_checkpoints,
                                                     padded_pair_batch):
    """Google's heads (NSP weights stored [2, hidden]) on its tanh GELU: HF with gelu_new."""
    _, google_dir, reference = pretraining_checkpoints
    inputs = with_mask_positions(padded_pair_batch)
    model = BertPretrainer.from_preset(google_dir)
    assert model.backbone.activation == "gelu_approximate"
    assert_heads_match(model, reference(inputs, "gelu_new"), inputs)
