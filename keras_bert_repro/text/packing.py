"""Segment packing: `[CLS] A [SEP] (B [SEP])`, truncation, padding. Core TF ops only,
so the packing runs in any TF Serving binary."""

import tensorflow as tf


def truncated_lengths(len_a, len_b, budget):
    """Lengths after the original `_truncate_seq_pair`: drop one token at a time
    from the end of the longer segment, from the second one on ties."""
    total = len_a + len_b
    shorter = tf.minimum(len_a, len_b)
    fits = total <= budget
    only_longer = 2 * shorter <= budget  # the shorter one survives whole
    new_a = tf.where(fits, len_a, tf.where(
        only_longer, tf.where(len_a > len_b, budget - len_b, len_a), (budget + 1) // 2))
    new_b = tf.where(fits, len_b, tf.where(
        only_longer, tf.where(len_a > len_b, len_b, budget - len_a), budget // 2))
    return new_a, new_b


def _keep_first(ragged, lengths):
    positions = tf.ragged.range(ragged.row_lengths())
    return tf.ragged.boolean_mask(ragged, positions < tf.cast(lengths, positions.dtype)[:, None])


def pack_segments(segments, sequence_length, cls_id, sep_id, pad_id=0, pad_to=None):
    """One or two ragged `[batch, (tokens)]` segments -> dense model inputs.

    Returns a dict of int32 `[batch, length]`: `token_ids`, `segment_ids`,
    `padding_mask`. `length` is `sequence_length`, or with `pad_to` the longest
    packed row rounded up to a multiple of `pad_to` (capped at `sequence_length`).
    """
    if len(segments) not in (1, 2):
        raise ValueError(f"BERT packs one or two segments, got {len(segments)}.")
    budget = sequence_length - len(segments) - 1
    if budget < len(segments):
        raise ValueError(f"sequence_length={sequence_length} leaves no room for text.")
    segments = [tf.cast(s, tf.int32) for s in segments]
    lengths = [tf.cast(s.row_lengths(), tf.int32) for s in segments]
    if len(segments) == 1:
        segments = [_keep_first(segments[0], tf.minimum(lengths[0], budget))]
    else:
        new_a, new_b = truncated_lengths(lengths[0], lengths[1], budget)
        segments = [_keep_first(segments[0], new_a), _keep_first(segments[1], new_b)]
    batch = tf.shape(lengths[0])[0]
    cls = tf.fill([batch, 1], cls_id)
    sep = tf.fill([batch, 1], sep_id)
    pieces, types = [cls], [tf.zeros([batch, 1], tf.int32)]
    for index, segment in enumerate(segments):
        pieces += [segment, sep]
        types += [tf.ones_like(segment) * index, tf.fill([batch, 1], index)]
    token_ids = tf.concat(pieces, axis=1)
    segment_ids = tf.concat(types, axis=1)
    if pad_to:
        longest = tf.reduce_max(token_ids.row_lengths())
        length = tf.minimum(tf.constant(sequence_length, tf.int64),
                            (longest + pad_to - 1) // pad_to * pad_to)
    else:
        length = sequence_length
    shape = tf.stack([tf.cast(batch, tf.int64), tf.cast(length, tf.int64)])
    dense_ids = token_ids.to_tensor(default_value=pad_id, shape=shape)
    return {
        "token_ids": dense_ids,
        "segment_ids": segment_ids.to_tensor(default_value=0, shape=shape),
        "padding_mask": tf.cast(tf.ones_like(token_ids).to_tensor(shape=shape), tf.int32),
    }
