"""Checks on in-memory examples before `fit` / `evaluate` / `predict` run a step: one
error naming the argument and its first bad row, rather than a Keras or TF error
deep in a step (or none at all: `None` becoming the text "None")."""

import math
import numbers

import numpy as np
import tensorflow as tf

TEXT_TYPES = (str, bytes, np.str_, np.bytes_)


def _describe(value):
    return f"{value!r} ({type(value).__name__})"


def check_texts(x, name="x"):
    """`x`: a list or array of strings, or a tuple of two of them (text pairs), all
    of one length. Returns that length; raises TypeError / ValueError otherwise."""
    if isinstance(x, TEXT_TYPES):
        raise TypeError(f"{name} is one string; pass a list of texts, e.g. [{x!r}].")
    parts = x if isinstance(x, tuple) else (x,)
    if not 1 <= len(parts) <= 2:
        raise ValueError(f"{name} must be texts or a pair (texts_a, texts_b), got a tuple of "
                         f"{len(parts)}.")
    counts = []
    for k, part in enumerate(parts):
        where = f"{name}[{k}]" if len(parts) > 1 else name
        if isinstance(part, TEXT_TYPES):
            raise TypeError(f"{where} is one string; pass a list of texts, e.g. [{part!r}].")
        if isinstance(part, (tf.Tensor, tf.RaggedTensor)):
            if part.dtype != tf.string or part.shape.rank != 1:
                raise TypeError(f"{where} must be a [batch] string tensor, got {part.dtype.name} "
                                f"of shape {part.shape}.")
            counts.append(int(part.shape[0]) if part.shape[0] is not None
                          else int(tf.shape(part)[0]))
            continue
        if not hasattr(part, "__len__"):
            raise TypeError(f"{where} must be a list of strings, got {type(part).__name__}.")
        rows = part.tolist() if isinstance(part, np.ndarray) else part
        for i, row in enumerate(rows):
            if not isinstance(row, TEXT_TYPES):
                raise TypeError(f"{where}[{i}] is {_describe(row)}, not a string: every text "
                                "must be a string (drop or fill missing rows first).")
        counts.append(len(rows))
    if len(set(counts)) > 1:
        raise ValueError(f"{name} pairs {counts[0]} first texts with {counts[1]} second ones.")
    return counts[0]


def _rows(y, count, name):
    if isinstance(y, TEXT_TYPES) or not hasattr(y, "__len__"):
        raise TypeError(f"{name} must be one label per example, got {_describe(y)}.")
    rows = y.tolist() if isinstance(y, np.ndarray) else list(y)
    if len(rows) != count:
        raise ValueError(f"{count} examples but {len(rows)} labels in {name}.")
    return rows


def check_class_ids(y, count, num_classes, name="y"):
    """One integer class id in [0, num_classes) per example."""
    for i, label in enumerate(_rows(y, count, name)):
        if isinstance(label, (bool, np.bool_)) or not isinstance(label, numbers.Integral):
            raise TypeError(f"{name}[{i}] is {_describe(label)}; labels are integer class ids "
                            f"in [0, {num_classes}).")
        if not 0 <= label < num_classes:
            raise ValueError(f"{name}[{i}] is {label}, outside [0, {num_classes}) "
                             f"for num_classes={num_classes}.")


def check_targets(y, count, name="y"):
    """One finite number per example (regression)."""
    for i, target in enumerate(_rows(y, count, name)):
        if isinstance(target, (bool, np.bool_)) or not isinstance(target, numbers.Real) \
                or not math.isfinite(target):
            raise TypeError(f"{name}[{i}] is {_describe(target)}; regression targets are "
                            "finite numbers.")


def check_sample_weight(sample_weight, count):
    if sample_weight is None:
        return
    weights = np.asarray(sample_weight, dtype=float) if not isinstance(
        sample_weight, TEXT_TYPES) else None
    if weights is None or weights.shape != (count,):
        raise ValueError(f"sample_weight must be one number per example ({count}), got "
                         f"{_describe(sample_weight) if weights is None else weights.shape}.")
    bad = np.flatnonzero(~np.isfinite(weights) | (weights < 0))
    if bad.size:
        raise ValueError(f"sample_weight[{bad[0]}] is {weights[bad[0]]}; weights are finite "
                         "and not negative.")
