"""Base of the preprocessors: a TF Text layer that holds a `BertTokenizer`."""

import keras

from keras_bert_repro.text.tf_layer import TFTextLayer
from keras_bert_repro.text.tokenizer import BertTokenizer


class PreprocessorLayer(TFTextLayer):
    """A `TFTextLayer` around `tokenizer`: serialized with it, and built from a
    preset's vocabulary by `from_preset`, the one loader of every preprocessor.

    Example:
    >>> pre = BertPreprocessor.from_preset("/path/to/model", sequence_length=128)  # doctest: +SKIP
    """

    def __init__(self, tokenizer, **kwargs):
        super().__init__(**kwargs)
        self.tokenizer = tokenizer

    def get_config(self):
        config = super().get_config()
        config["tokenizer"] = keras.saving.serialize_keras_object(self.tokenizer)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("tokenizer"), dict):
            config["tokenizer"] = keras.saving.deserialize_keras_object(config["tokenizer"])
        return cls(**config)

    def save_to_preset(self, preset_dir):
        """Writes the tokenizer's files (vocabulary, casing) that `from_preset` reads;
        the preprocessor's own arguments are given again there."""
        self.tokenizer.save_to_preset(preset_dir)

    @classmethod
    def from_preset(cls, preset, *args, **kwargs):
        """The tokenizer of `preset` (a registry name or a directory in any layout);
        `args` and `kwargs` are the preprocessor's own arguments, as its constructor
        takes them after the tokenizer (e.g. `sequence_length`)."""
        return cls(BertTokenizer.from_preset(preset), *args, **kwargs)
