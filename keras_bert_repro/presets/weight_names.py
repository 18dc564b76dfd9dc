"""The one mapping between BertBackbone's variables and checkpoint names.

Every loader converts its source to Google's original TF1 variable names and
shapes (`bert/encoder/layer_0/attention/self/query/kernel`, dense kernels stored
`[in, out]`; the pre-training heads under `cls/`), then `assign_google_weights`
and `assign_head_weights` copy them in with shape checks.
"""

import numpy as np

BACKBONE_PREFIX = "bert/"
HEAD_PREFIX = "cls/"
HEADS = ("cls/predictions/", "cls/seq_relationship/")
# Google multiplies the pooled output by this [2, hidden] matrix transposed; our
# Dense kernel is [hidden, 2].
TRANSPOSED = ("cls/seq_relationship/output_weights",)
# HF BertForPreTraining's head tensors: (Google name, transpose). HF Linear weights
# are [out, in]; its NSP weight is [2, hidden] as Google's. The decoder weight is
# the tied word embedding, so it is not read.
HF_HEAD_NAMES = {
    "cls.predictions.transform.dense.weight": ("cls/predictions/transform/dense/kernel", True),
    "cls.predictions.transform.dense.bias": ("cls/predictions/transform/dense/bias", False),
    "cls.predictions.transform.LayerNorm.weight": ("cls/predictions/transform/LayerNorm/gamma",
                                                   False),
    "cls.predictions.transform.LayerNorm.bias": ("cls/predictions/transform/LayerNorm/beta",
                                                 False),
    "cls.predictions.bias": ("cls/predictions/output_bias", False),
    "cls.predictions.decoder.bias": ("cls/predictions/output_bias", False),
    "cls.seq_relationship.weight": ("cls/seq_relationship/output_weights", False),
    "cls.seq_relationship.bias": ("cls/seq_relationship/output_bias", False),
}


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


def assign_google_weights(backbone, arrays, source):
    """Copies `arrays` (`{google_name: ndarray}`) into `backbone`.

    Names that are not the backbone's (pre-training heads, optimizer slots,
    `global_step`) are ignored. A missing weight or a shape that disagrees with
    the config raises ValueError naming the variable and `source`.
    """
    variables = backbone_variables(backbone)
    missing = [name for name in variables if name not in arrays]
    if missing:
        raise ValueError(
            f"{source} lacks {len(missing)} weight(s) the backbone needs, e.g. "
            f"{missing[:3]}. Is it a BERT checkpoint with num_layers={backbone.num_layers}?"
        )
    for name, variable in variables.items():
        _assign(name, variable, arrays[name], source)


def _assign(name, variable, value, source):
    value = np.asarray(value)
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


def hf_heads_to_google(tensors):
    """`{google_name: ndarray}` for the `cls.*` tensors of an HF `BertForPreTraining`."""
    arrays = {}
    for hf_name, (name, transpose) in HF_HEAD_NAMES.items():
        if hf_name in tensors:
            value = np.asarray(tensors[hf_name])
            arrays[name] = value.T if transpose else value
    return arrays


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
