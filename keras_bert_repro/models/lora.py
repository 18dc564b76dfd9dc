"""LoRA (Hu et al., 2021) on a backbone, as keras-hub has it: every layer frozen,
rank-r updates on the query and value projections (by default), and the update
weights saved and loaded on their own.

Keras' `Dense.enable_lora` does the work; a model saved as `.keras` holds the
updates merged into its kernels (Keras' behaviour), so it serves without them.

Example:
>>> clf.backbone.enable_lora(8)  # doctest: +SKIP
>>> clf.fit(texts, labels)  # trains the head and the LoRA updates  # doctest: +SKIP
>>> clf.backbone.save_lora_weights("sst2.lora.h5")  # doctest: +SKIP
"""

import h5py
import keras
import numpy as np

LORA_TARGETS = ("query", "value")
LORA_SUFFIX = ".lora.h5"


def enable_lora(backbone, rank, target_layer_names=None):
    """Freezes every layer of `backbone` and gives the dense layers named in
    `target_layer_names` (default: each block's `query` and `value`) trainable
    rank-`rank` updates. Returns the paths of those layers."""
    rank = int(rank)
    if rank < 1:
        raise ValueError(f"LoRA rank must be a positive integer, got {rank}.")
    if lora_layers(backbone):
        raise ValueError("LoRA is enabled on this backbone already.")
    targets = tuple(target_layer_names or LORA_TARGETS)
    backbone.trainable = True
    layers = list(backbone._flatten_layers(include_self=False))
    for layer in layers:
        layer.trainable = False
    enabled = []
    for layer in layers:
        if layer.name in targets and hasattr(layer, "enable_lora"):
            layer.trainable = True
            layer.enable_lora(rank)
            enabled.append(layer.path)
    if not enabled:
        raise ValueError(f"No dense layer of the backbone is named {list(targets)}: "
                         "nothing to put LoRA on.")
    return enabled


def lora_layers(backbone):
    """The backbone's layers with LoRA enabled."""
    return [layer for layer in backbone._flatten_layers(include_self=False)
            if getattr(layer, "lora_enabled", False)]


def save_lora_weights(backbone, filepath):
    """The LoRA weights alone (rank, and each layer's A and B by path) to an h5 file
    whose name ends in `.lora.h5`."""
    filepath = str(filepath)
    if not filepath.endswith(LORA_SUFFIX):
        raise ValueError(f"LoRA weight files end in {LORA_SUFFIX!r}, got {filepath!r}.")
    layers = lora_layers(backbone)
    if not layers:
        raise ValueError("LoRA is not enabled on this backbone: call enable_lora(rank) first.")
    with h5py.File(filepath, "w") as f:
        f.attrs["rank"] = layers[0].lora_rank
        for layer in layers:
            group = f.create_group(layer.path)
            group["lora_kernel_a"] = keras.ops.convert_to_numpy(layer.lora_kernel_a)
            group["lora_kernel_b"] = keras.ops.convert_to_numpy(layer.lora_kernel_b)


def load_lora_weights(backbone, filepath):
    """Loads weights `save_lora_weights` wrote, enabling LoRA first (at the file's rank,
    on the file's layers) where it is not enabled; raises on a rank or layer that
    does not match."""
    with h5py.File(str(filepath), "r") as f:
        rank = int(f.attrs["rank"])
        arrays = {}

        def collect(path, item):  # returns None: visititems stops at any other value
            if isinstance(item, h5py.Group) and "lora_kernel_a" in item:
                arrays[path] = (np.asarray(item["lora_kernel_a"]),
                                np.asarray(item["lora_kernel_b"]))

        f.visititems(collect)
    if not lora_layers(backbone):
        names = sorted({path.rsplit("/", 1)[-1] for path in arrays})
        enable_lora(backbone, rank, names)
    layers = {layer.path: layer for layer in lora_layers(backbone)}
    if set(layers) != set(arrays):
        raise ValueError(f"{filepath} holds LoRA weights of {sorted(arrays)}, but the backbone "
                         f"has LoRA on {sorted(layers)}.")
    for path, (a, b) in arrays.items():
        layer = layers[path]
        if tuple(layer.lora_kernel_a.shape) != a.shape:
            raise ValueError(f"{filepath}: {path} has LoRA A of shape {a.shape}, the backbone "
                             f"{tuple(layer.lora_kernel_a.shape)} (rank {layer.lora_rank}).")
        layer.lora_kernel_a.assign(a)
        layer.lora_kernel_b.assign(b)
