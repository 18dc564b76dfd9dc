"""The one mapping between BertBackbone's variables and checkpoint names.

Every loader converts its source to Google's original TF1 variable names
(`bert/encoder/layer_0/attention/self/query/kernel`, dense kernels stored
`[in, out]`), then `assign_google_weights` copies them in with shape checks.
"""

import numpy as np

BACKBONE_PREFIX = "bert/"


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
        value = np.asarray(arrays[name])
        if tuple(value.shape) != tuple(variable.shape):
            raise ValueError(
                f"{source}: variable {name!r} has shape {tuple(value.shape)}, but the "
                f"config asks for {tuple(variable.shape)}. The checkpoint and its config "
                "disagree."
            )
        variable.assign(value.astype(variable.dtype))
