"""Dtype policies that survive quantization: a quantized model's config carries a
`keras.dtype_policies.DTypePolicyMap` of its quantized layers (by path), so that a
model rebuilt from it creates those layers quantized and takes its weights back
(`.keras` files, `from_config`), as keras-hub's models do.

Example:
>>> bb.quantize("int8")  # doctest: +SKIP
>>> kbr.BertBackbone.from_config(bb.get_config())  # int8 layers again  # doctest: +SKIP
"""

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
