"""Dynamic masked-LM masking: the paper's 15% selection and 80/10/10 replacement,
on dense TF batches, so a fresh mask is drawn every time a batch is read.

TF Text's `RandomItemSelector` / `MaskValuesChooser` differ from the original
`create_masked_lm_predictions` in ways that change the statistics: they select
`ceil(rate * selectable)` rather than `round(rate * length)` (at least one),
count the cap in words rather than WordPieces under whole-word masking, and
draw random tokens from the whole vocabulary, [PAD] and [CLS] included; they
also shuffle row by row in `map_fn` with stateful ops, which repeat the same
masks every epoch once a global seed is set. This module does the original's
algorithm with vectorized, stateless TF ops.
"""

import tensorflow as tf

# Never selected for prediction (the original skips [CLS] and [SEP]; padding is no token).
UNSELECTABLE_TOKENS = ("[PAD]", "[CLS]", "[SEP]")


def num_to_predict(lengths, selection_rate, max_predictions_per_seq):
    """`min(cap, max(1, round(length * rate)))` per row, `length` counting [CLS]
    and [SEP], as `create_pretraining_data.py` (Python 3 `round`: half to even,
    which `tf.round` also does; float64 as Python's float)."""
    count = tf.round(tf.cast(lengths, tf.float64) * selection_rate)
    return tf.cast(tf.clip_by_value(count, 1.0, float(max_predictions_per_seq)), tf.int32)


def is_reserved(token):
    """[PAD], [CLS], [MASK], [unused7]...: never drawn as a random replacement."""
    return len(token) > 2 and token.startswith("[") and token.endswith("]")


class MaskedLMMasker:
    """Chooses and replaces the tokens a masked LM predicts, as the original
    `create_masked_lm_predictions`, for a dense batch and a stateless seed.

    Per row, `num_to_predict` positions are chosen uniformly among the real
    tokens other than [CLS]/[SEP] ([UNK] can be chosen, padding never). Each
    chosen piece independently becomes [MASK] (`mask_token_rate`), a random
    WordPiece (`random_token_rate`, drawn uniformly from the vocabulary minus the
    bracketed tokens [PAD]/[UNK]/[CLS]/[SEP]/[MASK]/[unusedN]), or stays.

    With `whole_word_masking`, a "##" piece continues the word before it (a piece
    right after [CLS]/[SEP] starts a word) and words are chosen whole, in random
    order, skipping a word that would overflow `num_to_predict`, as the original.

    Args:
        vocabulary: the list of tokens (must hold [MASK], [PAD], [CLS], [SEP]).
        max_predictions_per_seq: the most positions predicted per row.
        selection_rate: the share of tokens chosen.
        mask_token_rate: the share of chosen pieces replaced by [MASK].
        random_token_rate: the share replaced by a random WordPiece.
        whole_word_masking: choose whole words.

    Example:
    >>> masker = MaskedLMMasker(tokenizer.vocabulary)  # doctest: +SKIP
    >>> out = masker(token_ids, padding_mask, seed=tf.constant([1, 2]))  # doctest: +SKIP
    >>> out["mask_positions"], out["mask_ids"], out["mask_weights"]  # doctest: +SKIP
    """

    def __init__(self, vocabulary, max_predictions_per_seq=20, selection_rate=0.15,
                 mask_token_rate=0.8, random_token_rate=0.1, whole_word_masking=False):
        if not 0.0 < selection_rate <= 1.0:
            raise ValueError(f"selection_rate must be in (0, 1], got {selection_rate}.")
        if mask_token_rate < 0 or random_token_rate < 0 or \
                mask_token_rate + random_token_rate > 1.0:
            raise ValueError("mask_token_rate and random_token_rate must be >= 0 with a sum "
                             f"<= 1, got {mask_token_rate} and {random_token_rate}.")
        if int(max_predictions_per_seq) < 1:
            raise ValueError(
                f"max_predictions_per_seq must be >= 1, got {max_predictions_per_seq}.")
        vocabulary = list(vocabulary)
        missing = [t for t in ("[MASK]",) + UNSELECTABLE_TOKENS if t not in vocabulary]
        if missing:
            raise ValueError(f"Masking needs the special token(s) {missing} in the vocabulary.")
        self.max_predictions_per_seq = int(max_predictions_per_seq)
        self.selection_rate = float(selection_rate)
        self.mask_token_rate = float(mask_token_rate)
        self.random_token_rate = float(random_token_rate)
        self.whole_word_masking = bool(whole_word_masking)
        self.mask_token_id = vocabulary.index("[MASK]")
        with tf.init_scope():
            self._selectable = tf.constant([t not in UNSELECTABLE_TOKENS for t in vocabulary])
            self._continues_word = tf.constant([t.startswith("##") for t in vocabulary])
            self._random_ids = tf.constant(
                [i for i, t in enumerate(vocabulary) if not is_reserved(t)], tf.int32)

    def __call__(self, token_ids, padding_mask, seed):
        """Masks `token_ids` `[batch, length]` where `padding_mask` is 1.

        Returns a dict: `token_ids` (masked), and `[batch, max_predictions_per_seq]`
        `mask_positions` (ascending; 0 in unused slots), `mask_ids` (the original
        ids there; 0 unused) and `mask_weights` (float32, 1.0 for real predictions).
        `seed` is an int `[2]` tensor: the same seed gives the same masks.
        """
        token_ids = tf.cast(token_ids, tf.int32)
        real = tf.cast(padding_mask, tf.bool)
        select_seed, value_seed, random_seed = tf.unstack(
            tf.random.experimental.stateless_split(seed, 3))
        candidates = real & tf.gather(self._selectable, token_ids)
        budget = num_to_predict(tf.reduce_sum(tf.cast(real, tf.int32), axis=1),
                                self.selection_rate, self.max_predictions_per_seq)
        chosen = self._choose(token_ids, candidates, budget, select_seed)

        shape = tf.shape(token_ids)
        draw = tf.random.stateless_uniform(shape, value_seed)
        random_ids = tf.gather(self._random_ids, tf.random.stateless_uniform(
            shape, random_seed, minval=0, maxval=tf.size(self._random_ids), dtype=tf.int32))
        replacement = tf.where(
            draw < self.mask_token_rate, self.mask_token_id,
            tf.where(draw < self.mask_token_rate + self.random_token_rate, random_ids,
                     token_ids))
        positions, weights = self._positions(chosen)
        return {
            "token_ids": tf.where(chosen, replacement, token_ids),
            "mask_positions": positions,
            "mask_ids": tf.gather(token_ids, positions, batch_dims=1) * tf.cast(weights, tf.int32),
            "mask_weights": weights,
        }

    def _choose(self, token_ids, candidates, budget, seed):
        """Bool `[batch, length]`: the positions to predict, a uniformly random
        set (the original shuffles and takes the first ones). Sorting is the
        costly op on CPU, so each path sorts once."""
        keys = tf.random.stateless_uniform(tf.shape(token_ids), seed)
        if not self.whole_word_masking:
            # The `budget` candidates with the largest keys.
            width = self.max_predictions_per_seq
            keys = tf.pad(tf.where(candidates, keys, -1.0), [[0, 0], [0, width]],
                          constant_values=-1.0)  # rows shorter than the cap
            top = tf.math.top_k(keys, k=width)
            picked = (top.values >= 0) & (tf.range(width)[None, :] < budget[:, None])
            return _scatter_true(top.indices, picked, tf.shape(token_ids))
        follows_candidate = tf.pad(candidates[:, :-1], [[0, 0], [1, 0]])
        continues = tf.gather(self._continues_word, token_ids) & follows_candidate
        starts = candidates & tf.logical_not(continues)
        word = tf.cumsum(tf.cast(starts, tf.int32), axis=1) - 1  # word index of each piece
        num_words = tf.reduce_sum(tf.cast(starts, tf.int32), axis=1)
        batch, length = tf.shape(token_ids)[0], tf.shape(token_ids)[1]
        segment = tf.where(candidates, word + tf.range(batch)[:, None] * length, batch * length)
        sizes = tf.reshape(tf.math.unsorted_segment_sum(
            tf.cast(candidates, tf.int32), segment, batch * length + 1)[:-1], [batch, length])
        # A uniform random order of each row's words (the original's shuffle).
        is_word = tf.range(length)[None, :] < num_words[:, None]
        order = tf.argsort(tf.where(is_word, keys, 2.0), axis=1)  # order[b, k]: word ranked k
        taken_in_order = _fill_greedily(tf.gather(sizes, order, batch_dims=1), budget)
        rows = tf.broadcast_to(tf.range(batch)[:, None], tf.shape(order))
        taken = tf.scatter_nd(tf.stack([rows, order], axis=-1),
                              tf.cast(taken_in_order, tf.int32), tf.shape(order)) > 0
        return candidates & tf.gather(taken, tf.maximum(word, 0), batch_dims=1)

    def _positions(self, chosen):
        """Chosen positions ascending, padded with 0 to `max_predictions_per_seq`."""
        where = tf.cast(tf.where(chosen), tf.int32)  # [n, (row, position)], row-major
        slot = tf.gather_nd(tf.cumsum(tf.cast(chosen, tf.int32), axis=1) - 1, where)
        shape = tf.stack([tf.shape(chosen)[0], self.max_predictions_per_seq])
        positions = tf.scatter_nd(tf.stack([where[:, 0], slot], axis=1), where[:, 1], shape)
        count = tf.reduce_sum(tf.cast(chosen, tf.int32), axis=1)
        valid = tf.range(self.max_predictions_per_seq)[None, :] < count[:, None]
        return positions, tf.cast(valid, tf.float32)


def _scatter_true(columns, values, shape):
    """Bool `shape` [batch, length], True at `(row, columns[row, k])` where
    `values[row, k]`; columns past `length` are dropped."""
    hits = tf.one_hot(columns, shape[1], on_value=True, off_value=False) & values[..., None]
    return tf.reduce_any(hits, axis=1)


def _fill_greedily(sizes, budget):
    """The original's loop over shuffled words, vectorized over rows: a word is
    taken if it fits the budget left, skipped otherwise. `sizes` `[batch, words]`
    in shuffled order (0 = no word) -> bool `[batch, words]`.

    The words up to the first that overflows are all taken (their running sum
    fits). From there, each step takes, per row, the first word past the last
    one taken that fits. Skipped words never fit later (the budget only
    shrinks), so a few steps give the loop's result.
    """
    width = tf.shape(sizes)[1]
    index = tf.range(width)[None, :]
    prefix = (tf.cumsum(sizes, axis=1) <= budget[:, None]) & (sizes > 0)
    left = budget - tf.reduce_sum(tf.where(prefix, sizes, 0), axis=1)

    def step(taken, left, start):
        fits = (sizes > 0) & (sizes <= left[:, None]) & (index >= start[:, None])
        found = tf.reduce_any(fits, axis=1)
        first = tf.argmax(tf.cast(fits, tf.int32), axis=1, output_type=tf.int32)
        taken = taken | ((index == first[:, None]) & found[:, None])
        left = left - tf.where(found, tf.gather(sizes, first, batch_dims=1), 0)
        return taken, left, tf.where(found, first + 1, width)

    taken, _, _ = tf.while_loop(
        lambda taken, left, start: tf.reduce_any(start < width), step,
        (prefix, left, tf.reduce_sum(tf.cast(prefix, tf.int32), axis=1)))
    return taken
