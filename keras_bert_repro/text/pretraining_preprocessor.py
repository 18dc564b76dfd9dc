"""BertPretrainingPreprocessor: text pairs or pre-training instances -> masked
batches `(x, y, sample_weight)` for `BertPretrainer`, masks drawn afresh each read."""

import keras
import numpy as np
import tensorflow as tf

from keras_bert_repro.text.masking import MaskedLMMasker
from keras_bert_repro.text.packing import pack_segments, truncated_lengths
from keras_bert_repro.text.preprocessor_layer import PreprocessorLayer
from keras_bert_repro.text.tf_layer import to_string_tensor

OBJECTIVES = ("mlm_nsp", "mlm", "ltr")


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class BertPretrainingPreprocessor(PreprocessorLayer):
    """Packs, masks and labels batches for pre-training (paper 3.1).

    Inputs, batched (or one example):
    - raw text: `text_a`, `(text_a, text_b)` or `(text_a, text_b, is_random_next)`;
      pairs are truncated as `create_pretraining_data.py` does (the longer
      segment loses one token at a time, from its front or back at random);
    - instances: a dict with `token_ids` and `segment_ids` (`[CLS] A [SEP] B
      [SEP]`, ragged, or padded with [PAD]) and `is_random_next`, as
      `keras_bert_repro.data.pretraining` parses them.

    Returns `(x, y, sample_weight)`: `x` = `token_ids` (masked), `segment_ids`,
    `padding_mask` (int32 `[batch, sequence_length]`) and `mask_positions`
    (int32 `[batch, P]`); `y` = `mlm` (the original ids at `mask_positions`) and,
    for `"mlm_nsp"`, `nsp` (= `is_random_next`); `sample_weight` = float32 `mlm`
    (1.0 for real predictions) and `nsp` (ones). `P` is `max_predictions_per_seq`;
    `objective="ltr"` masks nothing and predicts each next token (`P =
    sequence_length - 1`, `mask_positions` = 0..P-1, `y["mlm"]` = tokens 1..L-1).

    Masking (`masking.MaskedLMMasker`) is the original's, drawn with a
    `tf.random.Generator` held by the layer, so every read of a dataset, every
    epoch, gets new masks, even after `keras.utils.set_random_seed`.

    Args:
        tokenizer: a `BertTokenizer`.
        sequence_length: the packed length.
        max_predictions_per_seq: the most masked positions per sequence.
        mask_selection_rate: the share of tokens predicted.
        mask_token_rate: the share of those replaced by [MASK].
        random_token_rate: the share replaced by a random WordPiece (the rest stay).
        whole_word_masking: mask all the WordPieces of a word together.
        objective: `"mlm_nsp"` (the paper), `"mlm"` (no NSP) or `"ltr"`.
        seed: seeds the mask generator (`None`: a nondeterministic seed).

    Example:
    >>> pre = BertPretrainingPreprocessor.from_preset("/path/to/model")  # doctest: +SKIP
    >>> ds = tf.data.Dataset.from_tensor_slices((texts_a, texts_b, is_random_next))  # doctest: +SKIP
    >>> for x, y, sample_weight in pre.dataset(ds, batch_size=256):  # doctest: +SKIP
    ...     x["mask_positions"].shape  # (256, 20)
    """

    def __init__(self, tokenizer, sequence_length=128, max_predictions_per_seq=20,
                 mask_selection_rate=0.15, mask_token_rate=0.8, random_token_rate=0.1,
                 whole_word_masking=False, objective="mlm_nsp", seed=None, **kwargs):
        super().__init__(tokenizer, **kwargs)
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}.")
        if int(sequence_length) < 5:
            raise ValueError(f"sequence_length={sequence_length} leaves no room for a pair.")
        if objective != "ltr" and int(max_predictions_per_seq) > int(sequence_length):
            raise ValueError(f"max_predictions_per_seq={max_predictions_per_seq} exceeds "
                             f"sequence_length={sequence_length}.")
        self.sequence_length = int(sequence_length)
        self.max_predictions_per_seq = int(max_predictions_per_seq)
        self.mask_selection_rate = float(mask_selection_rate)
        self.mask_token_rate = float(mask_token_rate)
        self.random_token_rate = float(random_token_rate)
        self.whole_word_masking = bool(whole_word_masking)
        self.objective = objective
        self.seed = seed
        self.masker = MaskedLMMasker(
            tokenizer.vocabulary, self.max_predictions_per_seq, self.mask_selection_rate,
            self.mask_token_rate, self.random_token_rate, self.whole_word_masking)
        # On the CPU, where tf.data runs, whatever device or strategy is in scope.
        with tf.init_scope(), tf.device("CPU:0"):
            self._generator = (tf.random.Generator.from_non_deterministic_state()
                               if seed is None else tf.random.Generator.from_seed(seed))

    def __call__(self, inputs, *more):
        """`inputs`, or its parts as separate arguments (`text_a, text_b,
        is_random_next`), as `dataset.map(preprocessor)` passes a tuple element."""
        return super().__call__((inputs, *more) if more else inputs)

    def call(self, inputs, seeds=None):
        """`seeds` ([2, 2] int64, one seed a column): the truncation's and the masks'
        (default: the next two of the layer's generator)."""
        single = _is_single_example(inputs)
        if single:
            inputs = tf.nest.map_structure(lambda t: tf.convert_to_tensor(t)[None], inputs)
        if seeds is None:
            seeds = self._generator.make_seeds(2)
        truncation_seed, mask_seed = tf.unstack(seeds, axis=1)
        if isinstance(inputs, dict):
            x, is_random_next = self._pack_instances(inputs)
        else:
            x, is_random_next = self._pack_text(inputs, truncation_seed)
        out = self._predictions(x, is_random_next, mask_seed)
        return tf.nest.map_structure(lambda t: t[0], out) if single else out

    def dataset(self, dataset, batch_size=None, drop_remainder=False):
        """Maps `dataset` to masked batches: batches it first if `batch_size` is
        given (ragged instances are batched as ragged), then prefetches.

        Elements are instance dicts, text, or `(text_a, text_b, is_random_next)`.
        """
        if batch_size is not None:
            dataset = dataset.ragged_batch(batch_size, drop_remainder=drop_remainder)

        if self.seed is not None:
            # Seeded: each batch's truncation and masks come from (seed, its index) and
            # not from a generator that parallel map calls advance in any order, so a
            # dataset made again from the same seed masks the same batches the same way
            # (what makes a resumed pre-training run equal to one never stopped).
            seed = tf.constant(int(self.seed), tf.int64)
            traced = self._traced(self.call, "indexed")

            @tf.autograph.experimental.do_not_convert
            def apply_indexed(index, element):
                seeds = tf.random.experimental.stateless_split(tf.stack([seed, index]), 2)
                return traced(element, tf.transpose(seeds))

            return dataset.enumerate().map(
                apply_indexed, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

        # No tensor-dependent Python control flow: skip AutoGraph's slow conversion.
        @tf.autograph.experimental.do_not_convert
        def apply(*element):
            return self(element if len(element) > 1 else element[0])

        return dataset.map(apply, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
            tf.data.AUTOTUNE)

    # === Packing ===
    def _pack_text(self, inputs, seed):
        parts = inputs if isinstance(inputs, tuple) else (inputs,)
        texts = [p for p in parts if _is_string(p)]
        labels = [p for p in parts if not _is_string(p)]
        if not 1 <= len(texts) <= 2 or len(labels) > 1 or \
                (labels and parts[-1] is not labels[0]):
            raise ValueError("Text input must be text_a, (text_a, text_b) or (text_a, text_b, "
                             f"is_random_next); got {len(texts)} text and {len(labels)} other "
                             "part(s).")
        ids = [self.tokenizer.call(to_string_tensor(t, name="text")) for t in texts]
        if len(ids) == 2:
            ids = truncate_pair_randomly(ids[0], ids[1], self.sequence_length - 3, seed)
        x = pack_segments(ids, self.sequence_length, self.tokenizer.cls_token_id,
                          self.tokenizer.sep_token_id, self.tokenizer.pad_token_id)
        return x, labels[0] if labels else None

    def _pack_instances(self, inputs):
        missing = [k for k in ("token_ids", "segment_ids") if k not in inputs]
        if missing:
            raise ValueError(f"Instance dicts need {missing}; got keys {sorted(inputs)}.")
        token_ids, segment_ids = inputs["token_ids"], inputs["segment_ids"]
        if not isinstance(token_ids, tf.RaggedTensor):
            token_ids = tf.convert_to_tensor(token_ids)
            mask = inputs.get("padding_mask")
            mask = token_ids != self.tokenizer.pad_token_id if mask is None else mask
            lengths = tf.reduce_sum(tf.cast(mask, tf.int64), axis=1)
            token_ids = tf.RaggedTensor.from_tensor(token_ids, lengths=lengths)
            segment_ids = tf.RaggedTensor.from_tensor(
                tf.convert_to_tensor(segment_ids), lengths=lengths)
        check = tf.debugging.assert_less_equal(
            tf.cast(token_ids.row_lengths(), tf.int64), tf.cast(self.sequence_length, tf.int64),
            message=f"A pre-training instance is longer than sequence_length="
                    f"{self.sequence_length}; write the data with a max_seq_length at most "
                    "that.")
        with tf.control_dependencies([check]):
            shape = [None, self.sequence_length]
            x = {
                "token_ids": tf.cast(token_ids, tf.int32).to_tensor(
                    self.tokenizer.pad_token_id, shape=shape),
                "segment_ids": tf.cast(segment_ids, tf.int32).to_tensor(0, shape=shape),
                "padding_mask": tf.ones_like(token_ids, tf.int32).to_tensor(0, shape=shape),
            }
        return x, inputs.get("is_random_next")

    # === Targets ===
    def _predictions(self, x, is_random_next, seed):
        if self.objective == "ltr":
            batch = tf.shape(x["token_ids"])[0]
            steps = self.sequence_length - 1
            x = dict(x, mask_positions=tf.tile(tf.range(steps)[None, :], [batch, 1]))
            return (x, {"mlm": x["token_ids"][:, 1:]},
                    {"mlm": tf.cast(x["padding_mask"][:, 1:], tf.float32)})
        masked = self.masker(x["token_ids"], x["padding_mask"], seed)
        x = dict(x, token_ids=masked["token_ids"], mask_positions=masked["mask_positions"])
        y, sample_weight = {"mlm": masked["mask_ids"]}, {"mlm": masked["mask_weights"]}
        if self.objective == "mlm_nsp":
            if is_random_next is None:
                raise ValueError('objective="mlm_nsp" needs is_random_next labels: pass '
                                 "(text_a, text_b, is_random_next) or instance dicts with it.")
            y["nsp"] = tf.reshape(tf.cast(is_random_next, tf.int32), [-1])
            sample_weight["nsp"] = tf.ones_like(y["nsp"], tf.float32)
        return x, y, sample_weight

    # === Config ===
    def get_config(self):
        config = super().get_config()
        config.update(
            sequence_length=self.sequence_length,
            max_predictions_per_seq=self.max_predictions_per_seq,
            mask_selection_rate=self.mask_selection_rate,
            mask_token_rate=self.mask_token_rate,
            random_token_rate=self.random_token_rate,
            whole_word_masking=self.whole_word_masking,
            objective=self.objective,
            seed=self.seed,
        )
        return config


def truncate_pair_randomly(a, b, budget, seed):
    """Ragged segments truncated as `create_pretraining_data.py`'s `truncate_seq_pair`.

    The lengths are those of `packing.truncated_lengths` (the longer segment loses
    one token at a time); each token removed comes off the front or the back with
    equal odds, so a segment loses Binomial(removed, 1/2) tokens at its front.
    """
    lengths = [tf.cast(s.row_lengths(), tf.int32) for s in (a, b)]
    kept = truncated_lengths(lengths[0], lengths[1], budget)
    seeds = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    out = []
    for segment, length, keep, part_seed in zip((a, b), lengths, kept, seeds):
        removed = length - keep
        front = tf.random.stateless_binomial(
            tf.shape(removed), part_seed, tf.cast(removed, tf.float32), 0.5,
            output_dtype=tf.int32)
        # The kept window as a gather: ~40x faster than a ragged boolean mask.
        start = segment.row_starts() + tf.cast(front, segment.row_splits.dtype)
        index = tf.ragged.range(start, start + tf.cast(keep, segment.row_splits.dtype))
        out.append(index.with_flat_values(tf.gather(segment.flat_values, index.flat_values)))
    return out


def _is_string(x):
    if isinstance(x, (tf.Tensor, tf.RaggedTensor)):
        return x.dtype == tf.string
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "USO"
    if isinstance(x, (list, tuple)):
        return bool(x) and isinstance(x[0], (str, bytes))
    return isinstance(x, (str, bytes))


def _is_single_example(inputs):
    """One unbatched example: scalar text, or instance ids of rank 1."""
    if isinstance(inputs, dict):
        ids = inputs.get("token_ids")
        return not isinstance(ids, tf.RaggedTensor) and hasattr(ids, "shape") and \
            tf.TensorShape(ids.shape).rank == 1
    first = inputs[0] if isinstance(inputs, tuple) else inputs
    return isinstance(first, (str, bytes)) or (
        hasattr(first, "shape") and tf.TensorShape(first.shape).rank == 0)
