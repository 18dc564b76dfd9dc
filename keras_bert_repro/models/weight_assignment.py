"""Checkpoint weights into a model: Google's TF1 names (what every preset reader
hands out, see `presets.weight_names`) mapped onto the model's variables, and
copied in with shape checks."""

import warnings

import keras
import numpy as np

from keras_bert_repro import presets
from keras_bert_repro.presets import HEADS

# Google multiplies the pooled output by this [2, hidden] matrix transposed; our
# Dense kernel is [hidden, 2].
TRANSPOSED = ("cls/seq_relationship/output_weights",)
POOLER_PREFIX = "bert/pooler/"


def backbone_variables(backbone):
    """Returns `{google_name: keras.Variable}` for every weight of `backbone`."""
    get = backbone.get_layer
    names = {
        "bert/embeddings/word_embeddings": get("token_embedding").embeddings,
        "bert/embeddings/token_type_embeddings": get("segment_embedding").embeddings,
        "bert/embeddings/position_embeddings": get("position_embedding").embeddings,
        "bert/embeddings/LayerNorm/gamma": get("embeddings_layer_norm").gamma,
        "bert/embeddings/LayerNorm/beta": get("embeddings_layer_norm").beta,
        "bert/pooler/dense/kernel": get("pooled_dense").kernel,
        "bert/pooler/dense/bias": get("pooled_dense").bias,
    }
    for i in range(backbone.num_layers):
        block = get(f"transformer_layer_{i}")
        att = block.attention
        prefix = f"bert/encoder/layer_{i}/"
        dense = {
            "attention/self/query": att.query_dense,
            "attention/self/key": att.key_dense,
            "attention/self/value": att.value_dense,
            "attention/output/dense": att.output_dense,
            "intermediate/dense": block.intermediate_dense,
            "output/dense": block.output_dense,
        }
        for name, layer in dense.items():
            names[prefix + name + "/kernel"] = layer.kernel
            names[prefix + name + "/bias"] = layer.bias
        for name, layer in (("attention/output/LayerNorm", block.attention_layer_norm),
                            ("output/LayerNorm", block.output_layer_norm)):
            names[prefix + name + "/gamma"] = layer.gamma
            names[prefix + name + "/beta"] = layer.beta
    return names


def assign_backbone_weights(backbone, weights):
    """Copies a preset's `BackboneWeights` into `backbone`: its Keras weights file
    (this library's layout), or its arrays (`{google_name: ndarray}`).

    Names that are not the backbone's (pre-training heads, optimizer slots,
    `global_step`) are ignored. A missing weight or a shape that disagrees with
    the config raises ValueError naming the variable and `source`.
    """
    if weights.keras_weights_file is not None:
        file = weights.keras_weights_file
        quantized = any(layer.quantization_mode for layer in backbone._flatten_layers())
        for name, dtype in presets.own_weights_dtypes(file).items():
            if dtype.kind != "f" and not quantized:  # int8 kernels are a quantized model's
                raise presets.CorruptPreset(
                    f"{file}: {name} holds {dtype.name} values, not floats: the file is "
                    "not this model's float weights (or is damaged).")
        with presets.reading(file, "this model's Keras weights"):
            backbone.load_weights(file)
        return
    arrays, source = weights.arrays, weights.source
    variables = backbone_variables(backbone)
    missing = [name for name in variables if name not in arrays]
    if missing and all(name.startswith(POOLER_PREFIX) for name in missing):
        # HF's BertForMaskedLM / TokenClassification / QuestionAnswering have none.
        warnings.warn(f"{source} has no pooler; the pooled output's dense layer keeps its "
                      "initialisation (fine-tuning trains it).", stacklevel=3)
        variables = {k: v for k, v in variables.items() if k not in missing}
        missing = []
    if missing:
        raise ValueError(
            f"{source} lacks {len(missing)} weight(s) the backbone needs, e.g. "
            f"{missing[:3]}. Is it a BERT checkpoint with num_layers={backbone.num_layers}?"
        )
    for name, variable in variables.items():
        _assign(name, variable, arrays[name], source)


def _assign(name, variable, value, source):
    value = np.asarray(value)
    if value.dtype.kind != "f" and value.dtype.name != "bfloat16":
        raise presets.CorruptPreset(
            f"{source}: variable {name!r} holds {value.dtype.name} values, not floats: "
            "the file is not a float checkpoint (or is damaged).")
    if name in TRANSPOSED:
        value = value.T
    if tuple(value.shape) != tuple(variable.shape):
        raise ValueError(
            f"{source}: variable {name!r} has shape {tuple(value.shape)}, but the "
            f"config asks for {tuple(variable.shape)}. The checkpoint and its config "
            "disagree."
        )
    variable.assign(value.astype(variable.dtype))


def head_variables(mlm_head, nsp_head=None):
    """Returns `{google_name: keras.Variable}` for the pre-training heads. The MLM
    decoder matrix is the backbone's token embedding, so it has no entry."""
    names = {
        "cls/predictions/transform/dense/kernel": mlm_head.dense.kernel,
        "cls/predictions/transform/dense/bias": mlm_head.dense.bias,
        "cls/predictions/transform/LayerNorm/gamma": mlm_head.layer_norm.gamma,
        "cls/predictions/transform/LayerNorm/beta": mlm_head.layer_norm.beta,
        "cls/predictions/output_bias": mlm_head.output_bias,
    }
    if nsp_head is not None:
        names["cls/seq_relationship/output_weights"] = nsp_head.kernel
        names["cls/seq_relationship/output_bias"] = nsp_head.bias
    return names


def assign_head_weights(variables, arrays, source):
    """Copies the `cls/*` weights in `arrays` into `variables` (from `head_variables`).

    Each head (`cls/predictions`, `cls/seq_relationship`) is loaded whole or left
    at its initialisation when the checkpoint has none of its weights (e.g. a
    checkpoint of the encoder alone); part of a head raises ValueError.
    """
    for head in HEADS:
        names = [name for name in variables if name.startswith(head)]
        present = [name for name in names if name in arrays]
        if not present:
            continue
        if len(present) < len(names):
            missing = sorted(set(names) - set(present))
            raise ValueError(f"{source} holds part of the {head} head: {missing} are missing.")
        for name in names:
            _assign(name, variables[name], arrays[name], source)


def read_variables(variables):
    """`{google_name: ndarray}` from `{google_name: keras.Variable}` (from
    `backbone_variables` / `head_variables`), in Google's shapes: the inverse of
    the assignment above, for writing checkpoints."""
    arrays = {}
    for name, variable in variables.items():
        value = _float32(variable)
        arrays[name] = value.T if name in TRANSPOSED else value
    return arrays


def dense_head_arrays(layer, names):
    """A task's output Dense as Google's `(output_weights [labels, hidden], output_bias)`
    under `names`."""
    return {names[0]: _float32(layer.kernel).T, names[1]: _float32(layer.bias)}


def _float32(variable):
    """A variable's value as a float32 numpy array (bfloat16 policies included)."""
    return np.asarray(keras.ops.convert_to_numpy(variable), dtype=np.float32)
