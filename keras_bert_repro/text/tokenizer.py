"""BertTokenizer: the original BERT tokenization as a Keras layer on TF Text."""

import keras
import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text

from keras_bert_repro import presets
from keras_bert_repro.text import basic_tokenizer
from keras_bert_repro.text.tf_layer import TFTextLayer, to_string_tensor
from keras_bert_repro.text.vocabulary import SPECIAL_TOKENS, read_vocabulary


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class BertTokenizer(TFTextLayer):
    """Text -> WordPiece ids, identical to google-research/bert's `FullTokenizer`.

    Runs TF Text ops, so it works eagerly on any backend and inside
    `tf.data.Dataset.map` and exported SavedModels. Literal `[CLS]`, `[SEP]` or
    `[MASK]` in the text are plain text, never special tokens.

    Args:
        vocabulary: a list of tokens or the path of a `vocab.txt`.
        lowercase: lower-case and strip accents (uncased models). `None` infers
            it from the vocabulary.

    Example:
    >>> tok = BertTokenizer.from_preset("/path/to/uncased_L-12_H-768_A-12")  # doctest: +SKIP
    >>> tok(["Hello, world!"])  # doctest: +SKIP
    <tf.RaggedTensor [[7592, 1010, 2088, 999]]>
    >>> tok.detokenize(tok(["Hello, world!"]))  # doctest: +SKIP
    """

    def __init__(self, vocabulary, lowercase=None, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary = read_vocabulary(vocabulary)
        self.lowercase = (presets.infer_lowercase(self.vocabulary) if lowercase is None
                          else bool(lowercase))
        self._token_to_id = {t: i for i, t in enumerate(self.vocabulary)}
        wordpiece = dict(vocab=self.vocabulary, suffix_indicator="##",
                         token_out_type=tf.int32, unknown_token="[UNK]",
                         support_detokenization=True)
        # General path: words come from basic_tokenizer; words over 200 characters
        # are capped there, so never by bytes here.
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            max_bytes_per_word=4 * basic_tokenizer.MAX_CHARS_PER_WORD,
            no_pretokenization=True, **wordpiece)
        # ASCII path: on printable ASCII (plus tab, newline and CR) the original
        # algorithm is lower-casing, a split on whitespace and ASCII punctuation,
        # and WordPiece, which FastWordpiece does end to end; there a byte is a
        # character, so max_bytes_per_word is the 200-character cap.
        self._ascii_wordpiece = tf_text.FastWordpieceTokenizer(
            max_bytes_per_word=basic_tokenizer.MAX_CHARS_PER_WORD,
            no_pretokenization=False, **wordpiece)
        for name in SPECIAL_TOKENS:
            if name in self._token_to_id:
                setattr(self, name.strip("[]").lower() + "_token_id", self._token_to_id[name])

    @property
    def vocabulary_size(self):
        """The number of tokens: an int, also callable (`vocabulary_size()`, keras-hub's)."""
        return _CallableCount(len(self.vocabulary))

    def get_vocabulary(self):
        """The tokens in id order (keras-hub's name)."""
        return list(self.vocabulary)

    def tokenize(self, text):
        """Same as calling the tokenizer (keras-hub's name)."""
        return self(text)

    def token_to_id(self, token):
        """The id of `token`; raises KeyError naming it if it is not in the vocabulary."""
        try:
            return self._token_to_id[token]
        except KeyError:
            raise KeyError(f"Token {token!r} is not in the vocabulary.") from None

    def id_to_token(self, token_id):
        if not 0 <= int(token_id) < len(self.vocabulary):
            raise ValueError(f"id {token_id} is outside [0, {len(self.vocabulary)}).")
        return self.vocabulary[int(token_id)]

    def words(self, text):
        """Text -> ragged words after BERT's basic tokenization (before WordPiece)."""
        return basic_tokenizer.split_words(to_string_tensor(text), self.lowercase)

    def eager_inputs(self, text):
        return to_string_tensor(text)

    def call(self, text):
        """A string or `[batch]` strings -> (ragged) int32 ids, no special tokens."""
        text = to_string_tensor(text)
        if text.shape.rank not in (0, 1, None) or isinstance(text, tf.RaggedTensor):
            raise ValueError(f"BertTokenizer takes a string or a [batch] of strings, got "
                             f"strings of shape {text.shape}; flatten them first.")
        scalar = text.shape.rank == 0
        ids = _by_path(text[None] if scalar else text, self._tokenize_ascii,
                       self._tokenize_mixed)
        return ids[0] if scalar else ids

    def _tokenize_ascii(self, text):
        return self._ascii_wordpiece.tokenize(
            tf.strings.lower(text) if self.lowercase else text)

    def _tokenize_mixed(self, text):
        # Every step after the whitespace split works within one whitespace token,
        # so cut each text into its non-ASCII tokens and the ASCII runs between
        # them; the runs take the fast path.
        # Only NUL must go first (split_around cuts at it); the rest of the
        # cleaning happens on the non-ASCII tokens, the only place it can act.
        # Empty chunks (before a text's first token, after its last) give no ids.
        text = tf.strings.regex_replace(text, r"\x00", "")
        chunks = basic_tokenizer.split_around(text, basic_tokenizer.NON_ASCII_TOKEN)
        ids = _by_path(chunks.flat_values, self._tokenize_ascii, self._tokenize_general)
        return _merge_inner(chunks.with_flat_values(ids))

    def _tokenize_general(self, text):
        words = self.words(text)
        # A word over 200 characters is one [UNK], as max_input_chars_per_word says.
        too_long = tf.strings.length(words.flat_values, unit="UTF8_CHAR") > \
            basic_tokenizer.MAX_CHARS_PER_WORD
        words = words.with_flat_values(tf.where(too_long, "[UNK]", words.flat_values))
        return _merge_inner(self._wordpiece.tokenize(words))

    def detokenize(self, ids):
        """Ids -> text, WordPiece continuations joined (`##`), words space-separated.
        Python or numpy ids give Python strings (one for a flat list of ids, a list for
        a batch), as keras-hub's tokenizers; tensors give a string tensor."""
        tensor = isinstance(ids, (tf.Tensor, tf.RaggedTensor))
        if not tensor:
            ids = np.asarray(ids).tolist() if isinstance(ids, np.ndarray) else ids
            ids = tf.ragged.constant(ids if ids else [], dtype=tf.int32)
        text = self._wordpiece.detokenize(tf.cast(ids, tf.int32))
        if tensor:
            return text
        text = text.numpy()
        return text.decode("utf-8") if isinstance(text, bytes) else [
            t.decode("utf-8") for t in text.tolist()]

    def get_config(self):
        config = super().get_config()
        config.update(vocabulary=self.vocabulary, lowercase=self.lowercase)
        return config

    def save_to_preset(self, preset_dir):
        """Writes the vocabulary and casing (`vocab.txt`, `tokenizer_config.json`), which
        `from_preset(preset_dir)` (and HF's `BertTokenizer`) read back."""
        presets.write_tokenizer_files(preset_dir, self.vocabulary, self.lowercase)

    @classmethod
    def from_preset(cls, preset, **kwargs):
        """Reads the vocabulary (and casing) of any preset layout or registry name;
        without a tokenizer config saying, the casing is inferred from the vocabulary."""
        path = presets.resolve_preset(preset)
        kwargs.setdefault("lowercase", presets.tokenizer_lowercase(path))
        return cls(presets.vocabulary_file(path), **kwargs)


def _by_path(text, ascii_fn, other_fn):
    """Applies `ascii_fn` to the plain-ASCII strings of `text` `[n]` and `other_fn`
    to the rest; both return ragged `[rows, (ids)]`, put back in `text`'s order."""
    is_ascii = tf.strings.regex_full_match(text, basic_tokenizer.ASCII_TEXT)
    ascii_rows = tf.where(is_ascii)[:, 0]
    other_rows = tf.where(tf.logical_not(is_ascii))[:, 0]
    ids = tf.concat([ascii_fn(tf.gather(text, ascii_rows)),
                     other_fn(tf.gather(text, other_rows))], axis=0)
    return tf.gather(ids, tf.math.invert_permutation(tf.concat([ascii_rows, other_rows], 0)))


def _merge_inner(ids):
    """Ragged `[rows, (a), (b)]` -> `[rows, (a * b)]`: `merge_dims(1, 2)` without
    its validating asserts, which cost much inside `tf.data` (see the
    `basic_tokenizer` docstring)."""
    return tf.RaggedTensor.from_row_splits(
        ids.values.values, tf.gather(ids.values.row_splits, ids.row_splits), validate=False)


class _CallableCount(int):
    """An int that also answers being called: `tokenizer.vocabulary_size` reads as
    before and as keras-hub's `vocabulary_size()`."""

    def __call__(self):
        return int(self)
