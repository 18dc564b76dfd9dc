"""Dtype policies that survive quantization: a quantized model's config carries a
`keras.dtype_policies.DTypePolicyMap` of its quantized layers (by path), so that a
model rebuilt from it creates those layers quantized and takes its weights back
(`.keras` files, `from_config`), as keras-hub's models do.

Example:
>>> bb.quantize("int8")  # doctest: +SKIP
>>> kbr.BertBackbone.from_config(bb.get_config())  # int8 layers again  # doctest: +SKIP
"""

import contextlib
import warnings

import keras

DTypePolicyMap = keras.dtype_policies.DTypePolicyMap


def own_policy(layer):
    """The layer's own policy (its entry where it was built with a policy map)."""
    policy = layer.dtype_policy
    if isinstance(policy, DTypePolicyMap):  # as Keras looks it up (no path: the default)
        return policy[layer.path] if layer.path else policy.default_policy
    return policy


def default_policy(policy):
    """The policy of the layers a map does not name (the policy itself if not a map)."""
    return policy.default_policy if isinstance(policy, DTypePolicyMap) else policy


def policy_with_quantized(policy, layers):
    """`policy` (a policy or a map), plus an entry for each quantized one of `layers`;
    a plain policy where none is quantized and `policy` is no map."""
    quantized = [layer for layer in layers if own_policy(layer).quantization_mode]
    if not quantized and not isinstance(policy, DTypePolicyMap):
        return policy
    entries = dict(policy.items()) if isinstance(policy, DTypePolicyMap) else {}
    entries.update((layer.path, own_policy(layer)) for layer in quantized)
    return _policy_map(default_policy(policy), entries)


def quantized_entries(policy):
    """The entries of a policy map whose layers are quantized (`{}` if none)."""
    if not isinstance(policy, DTypePolicyMap):
        return {}
    return {path: entry for path, entry in policy.items() if entry.quantization_mode}


def rebased(policy, default):
    """The quantized entries of the map `policy` over the policy `default` (a name
    or policy; None keeps the map's own), each quantized from `default`'s dtypes:
    a quantized preset loaded with `dtype="mixed_bfloat16"` computes in bfloat16."""
    if default is None:
        return policy
    default = keras.dtype_policies.get(default)
    if isinstance(default, DTypePolicyMap):
        return default
    entries = {path: keras.dtype_policies.get(f"{entry.quantization_mode}_from_{default.name}")
               for path, entry in quantized_entries(policy).items()}
    return _policy_map(default, entries)


def layer_dtype(dtype, default):
    """What a head layer is built with: `default` (e.g. float32 logits), or under a
    policy map, the map's entries over `default`."""
    if not isinstance(dtype, DTypePolicyMap):
        return default
    return _policy_map(default, dict(dtype.items()))


def _policy_map(default, entries):
    mapped = DTypePolicyMap(default_policy=default)
    for path, entry in entries.items():
        mapped[path] = entry
    return mapped


def deserialize(dtype):
    """A config's dtype entry (a name, a serialized policy or map) as a policy."""
    return keras.dtype_policies.deserialize(dtype) if isinstance(dtype, dict) else dtype


# Layers Keras' `Model.quantize` warns about ("does not have a `quantize` method")
# though they hold no kernel to quantize: the text layers, dropout, layer norms, and
# the position table (Keras quantizes `Embedding` lookups, keras-hub's position
# embeddings stay float too).
NOTHING_TO_QUANTIZE = ("InputLayer", "Dropout", "LayerNormalization", "PositionEmbedding",
                       "Activation", "BertTokenizer", r"Bert\w*Preprocessor")


@contextlib.contextmanager
def quiet_quantize():
    """Keras' `quantize` without its warning for each layer with nothing to quantize
    (a layer with a kernel left float still warns)."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=rf"Layer ({'|'.join(NOTHING_TO_QUANTIZE)}) does not have a "
            r"`quantize` method")
        yield
