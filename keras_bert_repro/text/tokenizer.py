"""BertTokenizer: the original BERT tokenization as a Keras layer on TF Text."""

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from keras_bert_repro.text import basic_tokenizer
from keras_bert_repro.text.tf_layer import TFTextLayer, to_string_tensor
from keras_bert_repro.text.vocabulary import (
    SPECIAL_TOKENS, infer_lowercase, preset_lowercase, preset_vocabulary_file,
    read_vocabulary)


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
        self.lowercase = infer_lowercase(self.vocabulary) if lowercase is None else bool(lowercase)
        self._token_to_id = {t: i for i, t in enumerate(self.vocabulary)}
        # Bytes per word are capped by characters below, so never by bytes here.
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            vocab=self.vocabulary, suffix_indicator="##",
            max_bytes_per_word=4 * basic_tokenizer.MAX_CHARS_PER_WORD,
            token_out_type=tf.int32, unknown_token="[UNK]",
            no_pretokenization=True, support_detokenization=True)
        for name in SPECIAL_TOKENS:
            if name in self._token_to_id:
                setattr(self, name.strip("[]").lower() + "_token_id", self._token_to_id[name])

    @property
    def vocabulary_size(self):
        return len(self.vocabulary)

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

    def call(self, text):
        """A string or `[batch]` strings -> (ragged) int32 ids, no special tokens."""
        text = to_string_tensor(text)
        scalar = text.shape.rank == 0
        words = self.words(text[None] if scalar else text)
        # A word over 200 characters is one [UNK], as max_input_chars_per_word says.
        too_long = tf.strings.length(words.flat_values, unit="UTF8_CHAR") > \
            basic_tokenizer.MAX_CHARS_PER_WORD
        words = words.with_flat_values(tf.where(too_long, "[UNK]", words.flat_values))
        ids = self._wordpiece.tokenize(words).merge_dims(-2, -1)
        return ids[0] if scalar else ids

    def detokenize(self, ids):
        """Ids -> text, WordPiece continuations joined (`##`), words space-separated."""
        ids = tf.ragged.constant(ids) if isinstance(ids, list) else ids
        return self._wordpiece.detokenize(tf.cast(ids, tf.int32))

    def get_config(self):
        config = super().get_config()
        config.update(vocabulary=self.vocabulary, lowercase=self.lowercase)
        return config

    @classmethod
    def from_preset(cls, preset, **kwargs):
        """Reads the vocabulary (and casing) of any preset layout or registry name."""
        from keras_bert_repro.presets import resolve_preset

        path = resolve_preset(preset)
        tokens = read_vocabulary(preset_vocabulary_file(path))
        kwargs.setdefault("lowercase", preset_lowercase(path, tokens))
        return cls(tokens, **kwargs)
