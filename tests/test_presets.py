"""Loaders: HF, Google's TF1 layout, keras-hub, our own presets, and the registry."""

import json
import os
import shutil

import numpy as np
import pytest

import keras_bert_repro as kbr
from tests.conftest import max_diff_on_real_tokens, to_numpy

PARITY = 1e-4


def assert_matches(ours, reference, inputs):
    seq = max_diff_on_real_tokens(ours["sequence_output"], reference["sequence_output"],
                                  inputs["padding_mask"])
    pooled = float(np.abs(to_numpy(ours["pooled_output"]) - reference["pooled_output"]).max())
    assert seq <= PARITY, f"sequence_output differs by {seq}"
    assert pooled <= PARITY, f"pooled_output differs by {pooled}"


@pytest.fixture(scope="module")
def minilm(minilm_dir):
    return kbr.BertBackbone.from_preset(minilm_dir)


# --- HF directories -------------------------------------------------------------

def test_hf_directory_matches_hf_bert_model(minilm, hf_reference, padded_pair_batch):
    assert (minilm.num_layers, minilm.hidden_dim, minilm.num_heads) == (6, 384, 12)
    assert minilm.activation == "gelu"  # what the HF config declares
    assert_matches(minilm(padded_pair_batch), hf_reference(padded_pair_batch), padded_pair_batch)


def test_every_hidden_state_matches_hf(minilm, hf_reference, padded_pair_batch):
    ours = minilm.feature_extractor(layers=range(minilm.num_layers + 1), combine=None)(
        padded_pair_batch)
    theirs = hf_reference(padded_pair_batch)["hidden_states"]
    for layer, (a, b) in enumerate(zip(ours, theirs)):
        diff = max_diff_on_real_tokens(a, b, padded_pair_batch["padding_mask"])
        assert diff <= PARITY, f"hidden state {layer} differs by {diff}"


def test_hf_directory_with_bert_prefix_and_heads(minilm_dir, tmp_path, hf_reference,
                                                 padded_pair_batch):
    """BertForPreTraining-style files: `bert.` prefix, `cls.*` heads to ignore."""
    from safetensors.numpy import load_file, save_file

    tensors = load_file(os.path.join(minilm_dir, "model.safetensors"))
    prefixed = {"bert." + k: v for k, v in tensors.items()}
    prefixed["cls.predictions.bias"] = np.zeros(30522, "float32")
    prefixed["cls.seq_relationship.weight"] = np.zeros((2, 384), "float32")
    save_file(prefixed, str(tmp_path / "model.safetensors"))
    shutil.copy(os.path.join(minilm_dir, "config.json"), tmp_path)
    bb = kbr.BertBackbone.from_preset(str(tmp_path))
    assert_matches(bb(padded_pair_batch), hf_reference(padded_pair_batch), padded_pair_batch)


# --- Google's original layout ---------------------------------------------------

def _google_name(hf_name):
    """HF -> Google variable name, spelled out from google-research/bert's modeling.py
    (independent of the library's own mapping). Returns (name, transpose)."""
    parts = hf_name.split(".")
    if parts[0] == "embeddings":
        if parts[1] == "LayerNorm":
            return "bert/embeddings/LayerNorm/" + {"weight": "gamma", "bias": "beta"}[parts[2]], False
        if parts[1] == "position_ids":
            return None
        return "bert/embeddings/" + parts[1], False
    if parts[0] == "pooler":
        return "bert/pooler/dense/" + {"weight": "kernel", "bias": "bias"}[parts[2]], parts[2] == "weight"
    # encoder.layer.N.<module path>.(weight|bias)
    layer, module, leaf = parts[2], "/".join(parts[3:-1]), parts[-1]
    if module.endswith("LayerNorm"):
        return f"bert/encoder/layer_{layer}/{module}/" + {"weight": "gamma", "bias": "beta"}[leaf], False
    return f"bert/encoder/layer_{layer}/{module}/" + {"weight": "kernel", "bias": "bias"}[leaf], leaf == "weight"


def write_google_checkpoint(minilm_dir, out_dir, config_overrides=None):
    """A pre-training checkpoint as Google's TF1 code writes it (tf.compat.v1 Saver)."""
    import tensorflow as tf
    from safetensors.numpy import load_file

    tensors = load_file(os.path.join(minilm_dir, "model.safetensors"))
    variables = {}
    for name, value in tensors.items():
        mapped = _google_name(name)
        if mapped:
            variables[mapped[0]] = value.T if mapped[1] else value
    rng = np.random.default_rng(0)
    variables.update({
        "cls/predictions/transform/dense/kernel": rng.normal(size=(384, 384)).astype("float32"),
        "cls/predictions/transform/dense/bias": np.zeros(384, "float32"),
        "cls/predictions/transform/LayerNorm/gamma": np.ones(384, "float32"),
        "cls/predictions/transform/LayerNorm/beta": np.zeros(384, "float32"),
        "cls/predictions/output_bias": np.zeros(30522, "float32"),
        "cls/seq_relationship/output_weights": rng.normal(size=(2, 384)).astype("float32"),
        "cls/seq_relationship/output_bias": np.zeros(2, "float32"),
    })
    for name in list(variables):  # Adam slots beside every weight, as run_pretraining saves
        variables[name + "/adam_m"] = np.full_like(variables[name], 7.0)
        variables[name + "/adam_v"] = np.full_like(variables[name], 9.0)
    with tf.Graph().as_default():
        tf_vars = [tf.compat.v1.get_variable(n, initializer=tf.constant(v)) for n, v in variables.items()]
        tf_vars.append(tf.compat.v1.train.get_or_create_global_step())
        saver = tf.compat.v1.train.Saver(tf_vars)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            saver.save(sess, os.path.join(out_dir, "bert_model.ckpt"), write_meta_graph=False)
    hf_config = json.load(open(os.path.join(minilm_dir, "config.json")))
    bert_config = {k: hf_config[k] for k in (
        "attention_probs_dropout_prob", "hidden_dropout_prob", "hidden_size",
        "initializer_range", "intermediate_size", "max_position_embeddings",
        "num_attention_heads", "num_hidden_layers", "type_vocab_size", "vocab_size")}
    bert_config["hidden_act"] = "gelu"
    bert_config.update(config_overrides or {})
    with open(os.path.join(out_dir, "bert_config.json"), "w") as f:
        json.dump(bert_config, f)
    shutil.copy(os.path.join(minilm_dir, "vocab.txt"), out_dir)
    return out_dir


@pytest.fixture(scope="module")
def google_dir(minilm_dir, tmp_path_factory):
    return write_google_checkpoint(minilm_dir, str(tmp_path_factory.mktemp("google")))


def test_google_checkpoint_matches_reference(google_dir, hf_reference, padded_pair_batch):
    """Google's code computes GELU with the tanh form, so the reference is HF's
    BertModel on the same weights with hidden_act='gelu_new' (that same form)."""
    bb = kbr.BertBackbone.from_preset(google_dir)
    assert bb.activation == "gelu_approximate"
    reference = hf_reference(padded_pair_batch, hidden_act="gelu_new")
    assert_matches(bb(padded_pair_batch), reference, padded_pair_batch)


def test_google_checkpoint_shape_mismatch_names_the_variable(minilm_dir, tmp_path):
    bad = write_google_checkpoint(minilm_dir, str(tmp_path), {"intermediate_size": 1024})
    with pytest.raises(ValueError, match="intermediate/dense/kernel.*\\(384, 1536\\).*\\(384, 1024\\)"):
        kbr.BertBackbone.from_preset(bad)


def test_google_dir_without_checkpoint_is_a_clear_error(google_dir, tmp_path):
    shutil.copy(os.path.join(google_dir, "bert_config.json"), tmp_path)
    with pytest.raises(FileNotFoundError, match="no checkpoint.*bert_model.ckpt"):
        kbr.BertBackbone.from_preset(str(tmp_path))


# --- keras-hub presets ------------------------------------------------------------

def test_keras_hub_preset_matches_keras_hub_and_reference(minilm_dir, tmp_path, hf_reference,
                                                          padded_pair_batch):
    import keras_hub

    theirs = keras_hub.models.BertBackbone.from_preset(minilm_dir)
    theirs.save_to_preset(str(tmp_path))
    ours = kbr.BertBackbone.from_preset(str(tmp_path))
    assert ours.activation == "gelu_approximate"  # keras-hub's encoder uses tanh GELU
    theirs_out = {k: to_numpy(v) for k, v in theirs(padded_pair_batch).items()}
    assert_matches(ours(padded_pair_batch), theirs_out, padded_pair_batch)
    assert_matches(ours(padded_pair_batch), hf_reference(padded_pair_batch, hidden_act="gelu_new"),
                   padded_pair_batch)


# --- our own presets ----------------------------------------------------------------

def test_save_to_preset_round_trip_is_exact(minilm, minilm_dir, tmp_path, padded_pair_batch):
    minilm.save_to_preset(str(tmp_path), vocabulary=os.path.join(minilm_dir, "vocab.txt"))
    assert sorted(os.listdir(tmp_path)) == ["config.json", "model.weights.h5", "vocab.txt"]
    restored = kbr.BertBackbone.from_preset(str(tmp_path))
    assert restored.get_config()["activation"] == "gelu"
    for key in ("sequence_output", "pooled_output"):
        np.testing.assert_array_equal(to_numpy(minilm(padded_pair_batch)[key]),
                                      to_numpy(restored(padded_pair_batch)[key]))


def test_hf_config_dropouts_map_to_hidden_and_attention_dropout(minilm_dir, tmp_path):
    """HF configs state the two rates apart; each reaches its own backbone argument."""
    config = json.load(open(os.path.join(minilm_dir, "config.json")))
    config.update(hidden_dropout_prob=0.2, attention_probs_dropout_prob=0.05)
    with open(tmp_path / "config.json", "w") as f:
        json.dump(config, f)
    os.symlink(os.path.join(minilm_dir, "model.safetensors"), tmp_path / "model.safetensors")
    bb = kbr.BertBackbone.from_preset(str(tmp_path))
    assert (bb.dropout, bb.attention_dropout) == (0.2, 0.05)


def test_from_preset_overrides_and_refuses_shape_changes(minilm_dir):
    bb = kbr.BertBackbone.from_preset(minilm_dir, dropout=0.3)
    assert bb.dropout == 0.3
    with pytest.raises(ValueError, match="cannot override \\['num_layers'\\]"):
        kbr.BertBackbone.from_preset(minilm_dir, num_layers=2)


# --- registry and bad directories ---------------------------------------------------

def test_registry_lists_the_released_models():
    names = kbr.list_presets()
    for name in ("bert_tiny_en_uncased", "bert_mini_en_uncased", "bert_small_en_uncased",
                 "bert_medium_en_uncased", "bert_base_en_uncased", "bert_base_en_cased",
                 "bert_large_en_uncased", "bert_large_en_cased", "bert_base_multi_cased",
                 "bert_base_zh"):
        assert name in names
    small = [n for n in names if kbr.presets.PRESETS[n].url.split("/")[-2] == "2020_02_20"]
    assert len(small) == 24
    tiny = kbr.presets.get_preset("bert_tiny_en_uncased")
    assert (tiny.num_layers, tiny.hidden_dim, tiny.num_heads) == (2, 128, 2)
    large = kbr.presets.get_preset("bert_large_en_uncased")
    assert (large.num_layers, large.hidden_dim, large.num_heads) == (24, 1024, 16)
    assert large.url.endswith("uncased_L-24_H-1024_A-16.zip")
    bb = kbr.BertBackbone(**tiny.config)
    assert bb.count_params() > 4e6


def test_unknown_preset_name_lists_known_ones():
    with pytest.raises(ValueError, match="Unknown preset 'bert_huge'.*bert_base_en_uncased"):
        kbr.BertBackbone.from_preset("bert_huge")


def test_registry_name_offline_names_url_and_local_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_BERT_REPRO_HOME", str(tmp_path))
    with pytest.raises(kbr.PresetDownloadError,
                       match="storage.googleapis.com/bert_models/2020_02_20/"
                             "uncased_L-2_H-128_A-2.zip.*from_preset\\('/path/to/"):
        kbr.BertBackbone.from_preset("bert_tiny_en_uncased")


def test_registry_name_resolves_from_the_cache(google_dir, tmp_path, monkeypatch):
    """A preset unzipped into the cache loads by name with no network."""
    monkeypatch.setenv("KERAS_BERT_REPRO_HOME", str(tmp_path))
    shutil.copytree(google_dir, tmp_path / "bert_base_en_uncased")
    bb = kbr.BertBackbone.from_preset("bert_base_en_uncased")
    assert bb.num_layers == 6  # what the cached checkpoint holds


def test_unrecognised_directory_lists_what_it_holds(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="not a BERT preset.*notes.txt"):
        kbr.BertBackbone.from_preset(str(tmp_path))


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        kbr.BertBackbone.from_preset(str(tmp_path / "nope"))


def test_hf_directory_without_weights_names_the_files(minilm_dir, tmp_path):
    shutil.copy(os.path.join(minilm_dir, "config.json"), tmp_path)
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        kbr.BertBackbone.from_preset(str(tmp_path))


# --- task presets: one from_preset, as 0.1.0 took its arguments -----------------------

def test_task_from_preset_takes_its_arguments_by_position_and_refuses_unknown(minilm_dir):
    clf = kbr.BertClassifier.from_preset(minilm_dir, 2, 64, None)
    assert clf.num_classes == 2 and clf.preprocessor.sequence_length == 64
    assert clf.preprocessor.pad_to_multiple_of is None
    qa = kbr.BertQuestionAnswerer.from_preset(minilm_dir, 256, 64)
    assert (qa.preprocessor.sequence_length, qa.preprocessor.doc_stride,
            qa.preprocessor.max_query_length) == (256, 64, 64)
    pretrainer = kbr.BertPretrainer.from_preset(minilm_dir, "mlm", 64)
    assert pretrainer.objective == pretrainer.preprocessor.objective == "mlm"
    assert pretrainer.preprocessor.sequence_length == 64
    swag = kbr.BertMultipleChoice.from_preset(minilm_dir, 3, 48)
    assert swag.num_choices == 3 and swag.preprocessor.sequence_length == 48
    assert kbr.BertPreprocessor.from_preset(minilm_dir, 32).sequence_length == 32
    with pytest.raises(TypeError, match="sequence_lenght"):
        kbr.BertClassifier.from_preset(minilm_dir, num_classes=2, sequence_lenght=64)
    with pytest.raises(TypeError, match="both by position and by keyword"):
        kbr.BertClassifier.from_preset(minilm_dir, 2, num_classes=3)
    with pytest.raises(TypeError, match="at most 3 arguments"):
        kbr.BertClassifier.from_preset(minilm_dir, 2, 64, 16, "extra")
    with pytest.raises(ValueError, match="exceeds the model's position table"):
        kbr.BertClassifier.from_preset(minilm_dir, 2, sequence_length=1024)
    # keras-hub's preprocessor= : the caller's own, or None for none.
    own = kbr.BertPreprocessor.from_preset(minilm_dir, 32)
    assert kbr.BertClassifier.from_preset(minilm_dir, 2, preprocessor=own).preprocessor is own
    assert kbr.BertClassifier.from_preset(minilm_dir, 2, preprocessor=None).preprocessor is None
    with pytest.raises(ValueError, match="with preprocessor= given, set them on it"):
        kbr.BertClassifier.from_preset(minilm_dir, 2, sequence_length=64, preprocessor=own)
