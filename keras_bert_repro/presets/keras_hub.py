"""keras-hub BERT presets: `config.json` (keras_hub>BertBackbone) + `model.weights.h5`.

Read with h5py, so keras-hub need not be installed. Keras names the weight
groups after each layer's class, numbered in build order: `transformer_encoder`,
`transformer_encoder_1`, ...; attention kernels are `[hidden, heads, head_dim]`.
"""

import os

import h5py

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


def read_keras_hub_weights(path):
    """Returns `({google_name: ndarray}, weights_file)` for a keras-hub preset."""
    file = os.path.join(path, WEIGHTS_FILE)
    if not os.path.isfile(file):
        raise FileNotFoundError(f"keras-hub preset {path} lacks {WEIGHTS_FILE}.")
    num_layers = read_keras_hub_config(path)["num_layers"]
    with h5py.File(file, "r") as h5:
        def var(group, index):
            key = f"layers/{group}/vars/{index}"
            if key not in h5:
                raise ValueError(f"{file}: no weight {key!r}; is this a BERT backbone preset?")
            return h5[key][()]

        arrays = {
            "bert/embeddings/word_embeddings": var("reversible_embedding", 0),
            "bert/embeddings/token_type_embeddings": var("embedding", 0),
            "bert/embeddings/position_embeddings": var("position_embedding", 0),
            "bert/embeddings/LayerNorm/gamma": var("layer_normalization", 0),
            "bert/embeddings/LayerNorm/beta": var("layer_normalization", 1),
            "bert/pooler/dense/kernel": var("dense", 0),
            "bert/pooler/dense/bias": var("dense", 1),
        }
        for i in range(num_layers):
            block = "transformer_encoder" + (f"_{i}" if i else "")
            att = block + "/_self_attention_layer"
            prefix = f"bert/encoder/layer_{i}/"
            for ours, theirs in (("query", "query_dense"), ("key", "key_dense"),
                                 ("value", "value_dense")):
                kernel = var(f"{att}/{theirs}", 0)
                arrays[prefix + f"attention/self/{ours}/kernel"] = kernel.reshape(
                    kernel.shape[0], -1)
                arrays[prefix + f"attention/self/{ours}/bias"] = var(
                    f"{att}/{theirs}", 1).reshape(-1)
            out = var(f"{att}/output_dense", 0)
            arrays[prefix + "attention/output/dense/kernel"] = out.reshape(-1, out.shape[-1])
            arrays[prefix + "attention/output/dense/bias"] = var(f"{att}/output_dense", 1)
            for ours, theirs in (("attention/output/LayerNorm", "_self_attention_layer_norm"),
                                 ("output/LayerNorm", "_feedforward_layer_norm")):
                arrays[prefix + ours + "/gamma"] = var(f"{block}/{theirs}", 0)
                arrays[prefix + ours + "/beta"] = var(f"{block}/{theirs}", 1)
            for ours, theirs in (("intermediate/dense", "_feedforward_intermediate_dense"),
                                 ("output/dense", "_feedforward_output_dense")):
                arrays[prefix + ours + "/kernel"] = var(f"{block}/{theirs}", 0)
                arrays[prefix + ours + "/bias"] = var(f"{block}/{theirs}", 1)
    return arrays, file
