"""Clear errors for bad backbone inputs, where the values can be seen."""

import numpy as np


def concrete_values(x):
    """Returns `x` as a numpy array when it holds concrete values, else None.

    Symbolic tensors (Keras functional graphs, `tf.function`, `jax.jit`
    tracers) return None: their values are checked in preprocessing instead.
    """
    if isinstance(x, (np.ndarray, list, tuple)):
        return np.asarray(x)
    module = type(x).__module__
    try:
        if module.startswith("tensorflow"):
            import tensorflow as tf

            return x.numpy() if tf.executing_eagerly() and hasattr(x, "numpy") else None
        if module.startswith("jax"):
            import jax

            return None if isinstance(x, jax.core.Tracer) else np.asarray(x)
        if module.startswith("torch"):
            return x.detach().cpu().numpy()
    except (TypeError, ValueError, AttributeError):
        return None
    return None


def _check_range(name, values, upper, what, hint=""):
    if values.size and (values.min() < 0 or values.max() >= upper):
        bad = values[(values < 0) | (values >= upper)]
        raise ValueError(
            f"{name} holds {bad.size} value(s) outside [0, {upper}) ({what}), "
            f"e.g. {bad.flat[0]}.{hint}"
        )


def check_backbone_inputs(inputs, vocabulary_size, num_segments, max_sequence_length):
    """Raises ValueError for missing keys, out-of-range ids or too-long sequences."""
    if not isinstance(inputs, dict):
        raise TypeError(
            "BertBackbone takes a dict with 'token_ids', 'segment_ids' and "
            f"'padding_mask'; got {type(inputs).__name__}. Use BertPreprocessor to "
            "turn text into that dict."
        )
    missing = [k for k in ("token_ids", "segment_ids", "padding_mask") if k not in inputs]
    if missing:
        raise KeyError(f"BertBackbone inputs lack {missing}; got keys {sorted(inputs)}.")
    shape = getattr(inputs["token_ids"], "shape", None)
    if shape is not None and len(shape) == 2 and isinstance(shape[1], int) \
            and shape[1] > max_sequence_length:
        raise ValueError(
            f"Sequence length {shape[1]} is longer than the position table "
            f"(max_sequence_length={max_sequence_length}). Truncate the input, e.g. "
            "with BertPreprocessor(sequence_length=...)."
        )
    token_ids = concrete_values(inputs["token_ids"])
    if token_ids is not None:
        _check_range("token_ids", token_ids, vocabulary_size,
                     f"vocabulary_size={vocabulary_size}",
                     " Check that the tokenizer's vocabulary is the model's.")
    segment_ids = concrete_values(inputs["segment_ids"])
    if segment_ids is not None:
        _check_range("segment_ids", segment_ids, num_segments, f"num_segments={num_segments}")
