"""keras-hub BERT presets: `config.json` (keras_hub>BertBackbone) + `model.weights.h5`.

Read with h5py, so keras-hub need not be installed. Keras names the weight
groups after each layer's class, numbered in build order: `transformer_encoder`,
`transformer_encoder_1`, ...; attention kernels are `[hidden, heads, head_dim]`.
"""

import json
import os

import h5py

from keras_bert_repro.presets.checkpoint import CLASSIFIER_WEIGHTS

from keras_bert_repro.presets.keras_config import read_keras_config, registered_name

WEIGHTS_FILE = "model.weights.h5"
REGISTERED_NAME = "keras_hub>BertBackbone"


def is_keras_hub_dir(path):
    return registered_name(path) == REGISTERED_NAME


def read_keras_hub_config(path):
    config = read_keras_config(path)
    keys = ("vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim",
            "max_sequence_length", "num_segments", "dropout")
    # keras-hub's TransformerEncoder always uses the tanh form of GELU.
    return {**{k: config[k] for k in keys if k in config}, "activation": "gelu_approximate"}


def keras_hub_names(num_layers):
    """`[(google_name, h5_key, kind)]` for every backbone weight of a keras-hub preset;
    `kind` says how keras-hub shapes it: `"same"`, or for attention, `"qkv_kernel"`
    (`[hidden, heads, head_dim]`), `"qkv_bias"` (`[heads, head_dim]`) and
    `"output_kernel"` (`[heads, head_dim, hidden]`). The one table both ways use."""
    def var(group, index):
        return f"layers/{group}/vars/{index}"

    names = [
        ("bert/embeddings/word_embeddings", var("reversible_embedding", 0), "same"),
        ("bert/embeddings/token_type_embeddings", var("embedding", 0), "same"),
        ("bert/embeddings/position_embeddings", var("position_embedding", 0), "same"),
        ("bert/embeddings/LayerNorm/gamma", var("layer_normalization", 0), "same"),
        ("bert/embeddings/LayerNorm/beta", var("layer_normalization", 1), "same"),
        ("bert/pooler/dense/kernel", var("dense", 0), "same"),
        ("bert/pooler/dense/bias", var("dense", 1), "same"),
    ]
    for i in range(num_layers):
        block = "transformer_encoder" + (f"_{i}" if i else "")
        att = block + "/_self_attention_layer"
        prefix = f"bert/encoder/layer_{i}/"
        for ours, theirs in (("query", "query_dense"), ("key", "key_dense"),
                             ("value", "value_dense")):
            names.append((prefix + f"attention/self/{ours}/kernel", var(f"{att}/{theirs}", 0),
                          "qkv_kernel"))
            names.append((prefix + f"attention/self/{ours}/bias", var(f"{att}/{theirs}", 1),
                          "qkv_bias"))
        names.append((prefix + "attention/output/dense/kernel", var(f"{att}/output_dense", 0),
                      "output_kernel"))
        names.append((prefix + "attention/output/dense/bias", var(f"{att}/output_dense", 1),
                      "same"))
        for ours, theirs in (("attention/output/LayerNorm", "_self_attention_layer_norm"),
                             ("output/LayerNorm", "_feedforward_layer_norm")):
            names.append((prefix + ours + "/gamma", var(f"{block}/{theirs}", 0), "same"))
            names.append((prefix + ours + "/beta", var(f"{block}/{theirs}", 1), "same"))
        for ours, theirs in (("intermediate/dense", "_feedforward_intermediate_dense"),
                             ("output/dense", "_feedforward_output_dense")):
            names.append((prefix + ours + "/kernel", var(f"{block}/{theirs}", 0), "same"))
            names.append((prefix + ours + "/bias", var(f"{block}/{theirs}", 1), "same"))
    return names


def to_google_shape(value, kind):
    """A keras-hub array in Google's 2-D (kernel) or 1-D (bias) shape."""
    if kind == "qkv_kernel":
        return value.reshape(value.shape[0], -1)
    if kind == "qkv_bias":
        return value.reshape(-1)
    if kind == "output_kernel":
        return value.reshape(-1, value.shape[-1])
    return value


def to_keras_hub_shape(value, kind, num_heads):
    """A Google-shaped array in keras-hub's per-head shape."""
    if kind == "qkv_kernel":
        return value.reshape(value.shape[0], num_heads, -1)
    if kind == "qkv_bias":
        return value.reshape(num_heads, -1)
    if kind == "output_kernel":
        return value.reshape(num_heads, -1, value.shape[-1])
    return value


def read_keras_hub_weights(path):
    """Returns `({google_name: ndarray}, weights_file)` for a keras-hub preset."""
    file = os.path.join(path, WEIGHTS_FILE)
    if not os.path.isfile(file):
        raise FileNotFoundError(f"keras-hub preset {path} lacks {WEIGHTS_FILE}.")
    num_layers = read_keras_hub_config(path)["num_layers"]
    arrays = {}
    with h5py.File(file, "r") as h5:
        for name, key, kind in keras_hub_names(num_layers):
            if key not in h5:
                raise ValueError(f"{file}: no weight {key!r}; is this a BERT backbone preset?")
            arrays[name] = to_google_shape(h5[key][()], kind)
    return arrays, file


TASK_FILE, TASK_WEIGHTS_FILE = "task.json", "task.weights.h5"
# The classifier's "logits" Dense in task.weights.h5: kernel [hidden, classes], bias.
HEAD_KEYS = ("layers/dense/vars/0", "layers/dense/vars/1")


def read_keras_hub_task_head(path):
    """`(task, {google_name: ndarray}, None, file)` for a keras-hub `BertTextClassifier`
    preset's head (its "logits" Dense, `[hidden, classes]`); task None without one."""
    task_file, file = os.path.join(path, TASK_FILE), os.path.join(path, TASK_WEIGHTS_FILE)
    if not (os.path.isfile(task_file) and os.path.isfile(file)):
        return None, {}, None, path
    with open(task_file, encoding="utf-8") as f:
        if json.load(f).get("registered_name") != "keras_hub>BertTextClassifier":
            return None, {}, None, path
    with h5py.File(file, "r") as h5:
        kernel, bias = (h5[key][()] for key in HEAD_KEYS)
    return ("sequence_classification",
            {CLASSIFIER_WEIGHTS[0]: kernel.T, CLASSIFIER_WEIGHTS[1]: bias}, None, file)
