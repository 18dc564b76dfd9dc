"""BERT's input embeddings: token + segment + learned absolute position."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class PositionEmbedding(keras.layers.Layer):
    """A learned table of absolute positions, sliced to the input's length.

    Returns `[1, seq, hidden]`, to be added to the token embeddings.

    Args:
        max_sequence_length: rows of the table (512 for the released models).
        initializer: initializer of the table.

    Example:
    >>> pos = PositionEmbedding(max_sequence_length=512)
    >>> pos(keras.ops.zeros((2, 8, 16))).shape
    (1, 8, 16)
    """

    def __init__(self, max_sequence_length, initializer="truncated_normal", **kwargs):
        super().__init__(**kwargs)
        self.max_sequence_length = int(max_sequence_length)
        self.initializer = keras.initializers.get(initializer)

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.max_sequence_length, input_shape[-1]),
            initializer=self.initializer,
        )

    def call(self, inputs):
        length = inputs.shape[1]
        if isinstance(length, int) and length > self.max_sequence_length:
            raise ValueError(
                f"Sequence length {length} is longer than the position table "
                f"(max_sequence_length={self.max_sequence_length}). Truncate the "
                "input, e.g. with BertPreprocessor(sequence_length=...)."
            )
        if length is None:
            length = ops.shape(inputs)[1]
        return ops.cast(ops.expand_dims(self.embeddings[:length], 0), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (1, input_shape[1], input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            max_sequence_length=self.max_sequence_length,
            initializer=keras.initializers.serialize(self.initializer),
        )
        return config
