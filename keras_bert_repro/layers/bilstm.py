"""A bidirectional LSTM over BERT's output that skips padding: the head of the
paper's left-to-right ablation (Table 5) and of its feature-based use (Table 7)."""

import keras


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class MaskedBiLSTM(keras.layers.Layer):
    """`num_layers` stacked bidirectional LSTMs over `[batch, seq, features]`.

    Padding (`padding_mask == 0`) is skipped in both directions, so the outputs
    at real positions do not depend on how much padding follows; the output,
    `[batch, seq, 2 * units]`, is zero at padding and carries no Keras mask
    (heads after it see ordinary tensors).

    Args:
        units: LSTM units per direction.
        num_layers: stacked BiLSTMs (the paper's Table 7: two).
        dropout: dropout on each BiLSTM's inputs.

    Example:
    >>> bilstm = MaskedBiLSTM(256)  # doctest: +SKIP
    >>> features = bilstm(outputs["sequence_output"], inputs["padding_mask"])  # doctest: +SKIP
    """

    def __init__(self, units, num_layers=1, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        if int(units) < 1 or int(num_layers) < 1:
            raise ValueError(f"units and num_layers must be at least 1, got {units} and "
                             f"{num_layers}.")
        self.units, self.num_layers, self.dropout = int(units), int(num_layers), float(dropout)
        self.bilstms = [keras.layers.Bidirectional(
            # Named, so the variables' paths (what a preset's head is saved by) do not
            # depend on how many LSTMs the process made before.
            keras.layers.LSTM(self.units, return_sequences=True, dropout=self.dropout,
                              dtype=self.dtype_policy, name="lstm"),
            dtype=self.dtype_policy, name=f"bilstm_{i}") for i in range(self.num_layers)]

    def build(self, sequence_shape, padding_mask_shape=None):
        shape = tuple(sequence_shape)
        for bilstm in self.bilstms:
            bilstm.build(shape)
            shape = shape[:-1] + (2 * self.units,)
        self.built = True

    def call(self, sequence, padding_mask, training=None):
        mask = keras.ops.cast(padding_mask, "bool")
        for bilstm in self.bilstms:
            sequence = bilstm(sequence, mask=mask, training=training)
        # Zeros at padding; the product is a new tensor, without the LSTMs' Keras mask.
        return sequence * keras.ops.cast(mask, sequence.dtype)[..., None]

    def compute_output_shape(self, sequence_shape, padding_mask_shape=None):
        return tuple(sequence_shape)[:-1] + (2 * self.units,)

    def compute_mask(self, sequence, padding_mask=None, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "units": self.units, "num_layers": self.num_layers,
                "dropout": self.dropout}
