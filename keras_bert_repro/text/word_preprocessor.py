"""BertWordPreprocessor: sentences already split into words (and word labels) ->
BertBackbone inputs with labels on the first WordPiece of each word."""

import keras
import numpy as np
import tensorflow as tf

from keras_bert_repro.text.packing import pack_segments
from keras_bert_repro.text.preprocessor import BertPreprocessor
from keras_bert_repro.text.tf_layer import TFTextLayer, to_backend_outputs


def to_ragged_words(words, dtype=tf.string, name="words"):
    """Sentences of words (or of word labels, with `dtype=tf.int32`) -> a ragged
    `[batch, (words)]` tensor, or a `[words]` tensor for a single sentence.

    Takes a list of lists, a `tf.RaggedTensor`, or a dense TF / numpy tensor.
    """
    if isinstance(words, (tf.RaggedTensor, tf.Tensor)):
        if (words.dtype == tf.string) != (dtype == tf.string):
            raise TypeError(f"{name} must be {dtype.name}, got a {words.dtype.name} tensor.")
        return tf.cast(words, dtype) if words.dtype != tf.string else words
    if isinstance(words, np.ndarray) and words.dtype != object:
        return tf.constant(words.astype(str) if dtype == tf.string else words, dtype=dtype)
    if isinstance(words, (str, bytes)):
        raise TypeError(f"{name} must be a list of words (a sentence) or a list of sentences, "
                        "not one string: split it first, e.g. text.split().")
    items = list(words)
    nested = bool(items) and all(isinstance(s, (list, tuple, np.ndarray)) for s in items)
    try:
        if not nested:
            return tf.constant(items, dtype=dtype)
        return tf.ragged.constant([list(s) for s in items], dtype=dtype, ragged_rank=1)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be a list of sentences, each a list of "
                        f"{'words' if dtype == tf.string else 'int labels'}: {e}") from None


def _as_batch(x):
    """-> (ragged `[batch, (words)]`, whether `x` was a single sentence)."""
    if isinstance(x, tf.RaggedTensor):
        return x, False
    if x.shape.rank == 1:
        return tf.RaggedTensor.from_tensor(x[None]), True
    if x.shape.rank == 2:
        return tf.RaggedTensor.from_tensor(x), False
    raise ValueError(f"Expected sentences of words `[batch, (words)]`, got shape {x.shape}.")


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class BertWordPreprocessor(BertPreprocessor):
    """Words -> `[CLS] pieces [SEP]`, each word's label on its first WordPiece.

    For token classification (NER): the input is sentences already split into
    words (ragged `tf.string [batch, (words)]`, or lists of lists of strings) and
    optionally their int labels, one per word. Each word is tokenized on its own
    with `tokenizer`, so its pieces never merge with a neighbour's. Returns the
    backbone inputs `x` (`token_ids`, `segment_ids`, `padding_mask`), and with
    labels `(x, y, sample_weight)`: `y` int32 `[batch, length]` holds each word's
    label at its first piece, and `sample_weight` is 1 there and 0 on the other
    pieces, `[CLS]`, `[SEP]` and padding, so they count in neither the loss nor
    the accuracy.

    - A word that tokenizes to nothing (an empty string, control or zero-width
      characters) becomes one `[UNK]`, so every word keeps a prediction slot
      (Hugging Face's fast tokenizers drop such words, and their labels).
    - A negative label marks a word to ignore (weight 0).
    - When the pieces exceed `sequence_length - 2`, the pieces past the cut are
      dropped; a word whose first piece is cut gets no slot (`word_starts` -1),
      and `BertTokenClassifier.predict` labels it "outside" (id 0).

    Args:
        tokenizer: a `BertTokenizer`.
        sequence_length: the packed length (at most the model's position table).
        pad_to_multiple_of: if set, pad each batch only to its longest row rounded
            up to this multiple (capped at `sequence_length`).

    Example:
    >>> pre = BertWordPreprocessor.from_preset("/path/to/model")  # doctest: +SKIP
    >>> x, y, w = pre([["EU", "rejects", "German", "call"]], [[3, 0, 7, 0]])  # doctest: +SKIP
    >>> pre.word_starts([["EU", "rejects", "German", "call"]])  # doctest: +SKIP
    <tf.RaggedTensor [[1, 2, 3, 4]]>
    """

    def __call__(self, words, labels=None):
        """`words` -> inputs; with word `labels`, `(inputs, y, sample_weight)`: the
        labels move onto first pieces (not passed through as BertPreprocessor's `y`)."""
        return TFTextLayer.__call__(self, words, *(() if labels is None else (labels,)))

    def eager_inputs(self, words):
        return to_ragged_words(words)

    def call(self, words, labels=None):
        words, single = _as_batch(to_ragged_words(words))
        pieces, starts = self._word_pieces(words)
        out = pack_segments([pieces], self.sequence_length, self.tokenizer.cls_token_id,
                            self.tokenizer.sep_token_id, self.tokenizer.pad_token_id,
                            pad_to=self.pad_to_multiple_of)
        if labels is not None:
            labels, _ = _as_batch(to_ragged_words(labels, tf.int32, name="labels"))
            out = (out,) + self._piece_labels(words, labels, starts, tf.shape(out["token_ids"]))
        return tf.nest.map_structure(lambda t: t[0], out) if single else out

    def word_starts(self, words):
        """Where each word's first piece sits in `token_ids`: ragged int32
        `[batch, (words)]`, -1 for words cut off by `sequence_length`."""
        # As `call` (see TFTextLayer): a traced graph, once per input rank, eagerly too.
        words = to_ragged_words(words)
        starts = self._traced(self._word_starts, words.shape.rank)(words)
        return to_backend_outputs(starts) if tf.executing_eagerly() else starts

    def _word_starts(self, words):
        words, single = _as_batch(to_ragged_words(words))
        _, starts = self._word_pieces(words)
        return starts[0] if single else starts

    # Plain tensor ops on the flat values rather than ragged concat/repeat: each
    # new tf.data iterator instantiates the whole graph, so its size is paid per epoch.
    def _word_pieces(self, words):
        """-> the pieces of each sentence, ragged `[batch, (pieces)]`, and each
        word's first-piece position in the packed sequence (-1 past the cut)."""
        ids = self.tokenizer.call(words.flat_values)
        counts = tf.maximum(ids.row_lengths(), 1)  # an empty word gets one [UNK]
        word_start = tf.cumsum(counts, exclusive=True)
        piece_rows = ids.value_rowids()
        positions = tf.gather(word_start, piece_rows) + (
            tf.range(tf.size(piece_rows, out_type=tf.int64)) - tf.gather(ids.row_starts(),
                                                                          piece_rows))
        values = tf.tensor_scatter_nd_update(
            tf.fill([tf.reduce_sum(counts)], self.tokenizer.unk_token_id),
            positions[:, None], ids.values)
        sentence_rows = words.value_rowids()
        totals = tf.math.unsorted_segment_sum(counts, sentence_rows, words.nrows())
        offset = word_start - tf.gather(tf.cumsum(totals, exclusive=True), sentence_rows)
        budget = self.sequence_length - 2  # room left by [CLS] and [SEP]
        starts = tf.cast(tf.where(offset < budget, offset + 1, -1), tf.int32)
        return (tf.RaggedTensor.from_row_lengths(values, totals, validate=False),
                words.with_flat_values(starts))

    def _piece_labels(self, words, labels, starts, shape):
        """Each word's label at its first piece: `y` and `sample_weight` `[batch, length]`."""
        tf.debugging.assert_equal(
            labels.row_lengths(), words.row_lengths(),
            message="labels must hold one label per word, sentence for sentence")
        kept = starts.flat_values >= 0
        index = tf.boolean_mask(tf.stack([tf.cast(words.value_rowids(), tf.int32),
                                          starts.flat_values], axis=1), kept)
        label = tf.boolean_mask(tf.cast(labels.flat_values, tf.int32), kept)
        y = tf.scatter_nd(index, tf.maximum(label, 0), shape)
        sample_weight = tf.scatter_nd(index, tf.cast(label >= 0, tf.float32), shape)
        return y, sample_weight
