"""BertPreprocessor: raw text (one or two segments) -> BertBackbone inputs."""

import keras

from keras_bert_repro.text.packing import pack_segments
from keras_bert_repro.text.preprocessor_layer import PreprocessorLayer
from keras_bert_repro.text.tf_layer import to_string_tensor


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class BertPreprocessor(PreprocessorLayer):
    """Tokenizes and packs `[CLS] A [SEP]` or `[CLS] A [SEP] B [SEP]`.

    Pairs are truncated as the original release did: from the end of the longer
    segment, from the second on ties. Works eagerly on any backend and in
    `tf.data`. Returns `token_ids`, `segment_ids` and `padding_mask`.

    Args:
        tokenizer: a `BertTokenizer`.
        sequence_length: the packed length (at most the model's position table).
        pad_to_multiple_of: if set, pad each batch only to its longest row rounded
            up to this multiple (capped at `sequence_length`), so short texts do not
            compute on padding, with few distinct shapes for XLA.

    Example:
    >>> pre = BertPreprocessor.from_preset("/path/to/model", sequence_length=128)  # doctest: +SKIP
    >>> pre(["a sentence"])["token_ids"].shape  # doctest: +SKIP
    (1, 128)
    >>> pre((["premise"], ["hypothesis"]))  # sentence pairs  # doctest: +SKIP
    >>> dataset.map(pre)  # (text, label) elements -> (inputs, label)  # doctest: +SKIP
    """

    def __init__(self, tokenizer, sequence_length=512, pad_to_multiple_of=None, **kwargs):
        super().__init__(tokenizer, **kwargs)
        self.sequence_length = int(sequence_length)
        self.pad_to_multiple_of = pad_to_multiple_of

    def __call__(self, x, y=None, sample_weight=None):
        """`x` -> the backbone's inputs; with `y` (and `sample_weight`), the tuple
        `(inputs, y[, sample_weight])`, as keras-hub's preprocessors, so that
        `dataset.map(preprocessor)` maps labelled elements."""
        inputs = super().__call__(x)
        if y is None and sample_weight is None:
            return inputs
        return keras.utils.pack_x_y_sample_weight(inputs, y, sample_weight)

    def eager_inputs(self, x):
        if isinstance(x, tuple):
            return tuple(to_string_tensor(s, name="segment") for s in x)
        return to_string_tensor(x, name="segment")

    def call(self, x):
        segments = x if isinstance(x, tuple) else (x,)
        texts = [to_string_tensor(s, name="segment") for s in segments]
        scalar = texts[0].shape.rank == 0
        if scalar:
            texts = [t[None] for t in texts]
        ids = [self.tokenizer.call(t) for t in texts]
        out = pack_segments(ids, self.sequence_length, self.tokenizer.cls_token_id,
                            self.tokenizer.sep_token_id, self.tokenizer.pad_token_id,
                            pad_to=self.pad_to_multiple_of)
        return {k: v[0] for k, v in out.items()} if scalar else out

    def get_config(self):
        config = super().get_config()
        config.update(sequence_length=self.sequence_length,
                      pad_to_multiple_of=self.pad_to_multiple_of)
        return config
