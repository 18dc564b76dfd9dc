"""WordPiece ids with each token's character span in the original (un-normalized) text.

`BertTokenizer` lower-cases, strips accents and drops control characters before
splitting, so offsets into its normalized text do not index the user's text.
Here the normalized form of each character is computed (lower-casing in the
context of the whole text, the other steps per character), the forms are
joined and tokenized as `BertTokenizer` does, and each token's bytes are traced
back to the characters that produced them.
"""

import tensorflow as tf
import tensorflow_text as tf_text

from keras_bert_repro.text import basic_tokenizer
from keras_bert_repro.text.tf_layer import to_string_tensor


class OffsetTokenizer:
    """Tokenizes like `tokenizer` (same ids) and returns character offsets.

    Offsets count Unicode code points, so `text[start:end]` in Python is the
    original text of a token, accents, case and all. A combining mark that
    normalization removed stays with the character before it.

    Args:
        tokenizer: a `BertTokenizer` (its vocabulary and casing are used).

    Example:
    >>> tok = OffsetTokenizer(BertTokenizer.from_preset("/path/to/model"))  # doctest: +SKIP
    >>> ids, starts, ends = tok(["Crème brûlée"])  # doctest: +SKIP
    >>> starts.to_list(), ends.to_list()  # cr ##eme br ##ule ##e  # doctest: +SKIP
    ([[0, 2, 6, 8, 11]], [[2, 5, 8, 11, 12]])
    """

    def __init__(self, tokenizer):
        self.lowercase = tokenizer.lowercase
        # The same WordPiece models as `tokenizer` (building them again costs seconds);
        # FastWordpiece gives offsets through `tokenize_with_offsets`.
        self._wordpiece = tokenizer._wordpiece
        self._ascii_wordpiece = tokenizer._ascii_wordpiece

    def __call__(self, text):
        """`[batch]` strings -> `(ids, starts, ends)`, each ragged `[batch, (tokens)]`."""
        text = to_string_tensor(text)
        if text.shape.rank != 1:
            raise ValueError(f"OffsetTokenizer takes a batch of strings, got shape {text.shape}.")
        is_ascii = tf.strings.regex_full_match(text, basic_tokenizer.ASCII_TEXT)
        ascii_rows = tf.where(is_ascii)[:, 0]
        other_rows = tf.where(tf.logical_not(is_ascii))[:, 0]
        order = tf.math.invert_permutation(tf.concat([ascii_rows, other_rows], 0))
        return tuple(tf.gather(tf.concat([a, b], axis=0), order) for a, b in zip(
            self._tokenize_ascii(tf.gather(text, ascii_rows)),
            self._tokenize_general(tf.gather(text, other_rows))))

    def _tokenize_ascii(self, text):
        # On printable ASCII the basic tokenizer is lower-casing and a split on
        # whitespace and punctuation, which FastWordpiece does itself (as in
        # BertTokenizer); a byte is a character, so its offsets are ours.
        starts_ends = self._ascii_wordpiece.tokenize_with_offsets(
            tf.strings.lower(text) if self.lowercase else text)
        return tuple(tf.cast(t, tf.int32) for t in starts_ends)

    def _tokenize_general(self, text):
        chars = tf.strings.unicode_split(text, "UTF-8", errors="replace")
        normalized = self._normalize_each(chars)
        # Flat byte position in the joined normalized texts -> flat character index.
        char_byte_ends = tf.cumsum(_length(normalized))
        joined = tf.strings.reduce_join(chars.with_flat_values(normalized), axis=1)
        row_byte_starts = tf.cumsum(_length(joined), exclusive=True)

        words, word_starts = basic_tokenizer.split_normalized_with_starts(joined)
        flat_words = words.flat_values
        word_bytes = _length(flat_words)
        too_long = tf.strings.length(flat_words, unit="UTF8_CHAR") > \
            basic_tokenizer.MAX_CHARS_PER_WORD
        ids, piece_starts, piece_ends = self._wordpiece.tokenize_with_offsets(
            tf.where(too_long, "[UNK]", flat_words))
        # A word over 200 characters is one [UNK] spanning the whole word.
        word_of_token = ids.value_rowids()
        unk_word = tf.gather(too_long, word_of_token)
        piece_starts = tf.where(unk_word, tf.zeros_like(piece_starts.flat_values),
                                piece_starts.flat_values)
        piece_ends = tf.where(unk_word, tf.gather(word_bytes, word_of_token),
                              piece_ends.flat_values)

        row_of_token = tf.gather(words.value_rowids(), word_of_token)
        base = tf.gather(row_byte_starts, row_of_token) + tf.gather(word_starts, word_of_token)
        first_char = tf.searchsorted(char_byte_ends, base + piece_starts, side="right",
                                     out_type=tf.int64)
        last_char = tf.searchsorted(char_byte_ends, base + piece_ends - 1, side="right",
                                    out_type=tf.int64)
        end_char = self._absorb_removed_marks(chars, normalized, last_char + 1)

        row_char_starts = tf.gather(chars.row_splits, row_of_token)
        token_splits = tf.gather(ids.row_splits, words.row_splits)  # each text's first token

        def per_text(flat):
            return tf.RaggedTensor.from_row_splits(flat, token_splits, validate=False)

        return (per_text(ids.flat_values),
                per_text(tf.cast(first_char - row_char_starts, tf.int32)),
                per_text(tf.cast(end_char - row_char_starts, tf.int32)))

    def _normalize_each(self, chars):
        """Ragged characters -> the normalized text of each (flat), as
        `basic_tokenizer.normalize` of the whole text would produce it."""
        cleaned = basic_tokenizer.clean(chars.flat_values)
        if not self.lowercase:
            return cleaned
        # Lower-casing needs context (a final sigma becomes ς), so lower whole
        # texts and hand the characters back to the ones they came from: one
        # each, none for a dropped character, two for İ (i + combining dot).
        lowered = tf.strings.unicode_split(tf.strings.lower(
            tf.strings.reduce_join(chars.with_flat_values(cleaned), axis=1),
            encoding="utf-8"), "UTF-8").flat_values
        counts = tf.where(cleaned == "", 0, tf.where(cleaned == "\u0130", 2, 1))
        lowered = tf.strings.reduce_join(tf.RaggedTensor.from_row_lengths(
            lowered, tf.cast(counts, tf.int64), validate=False), axis=1)
        return tf.strings.regex_replace(tf_text.normalize_utf8(lowered, "NFD"), r"\p{Mn}", "")

    @staticmethod
    def _absorb_removed_marks(chars, normalized, end):
        """Moves each exclusive end past the combining marks right after it that
        normalization removed (a decomposed accent belongs to its letter)."""
        removed_mark = tf.logical_and(
            tf.strings.length(normalized) == 0,
            tf.strings.regex_full_match(chars.flat_values, r"\p{Mn}"))
        stops = tf.sort(tf.concat([tf.where(tf.logical_not(removed_mark))[:, 0],
                                   chars.row_splits[1:]], axis=0))
        return tf.gather(stops, tf.searchsorted(stops, end, side="left", out_type=tf.int64))


def _length(strings):
    return tf.cast(tf.strings.length(strings, unit="BYTE"), tf.int64)
