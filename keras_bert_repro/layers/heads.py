"""The masked-LM head of BERT's pre-training, its decoder tied to the token embedding."""

import keras
from keras import ops

from keras_bert_repro.layers.dense import Dense
from keras_bert_repro.layers.encoder_block import LAYER_NORM_EPSILON
from keras_bert_repro.layers.initializers import bert_initializer


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class MaskedLMHead(keras.layers.Layer):
    """Vocabulary logits at the masked positions, as Google's `get_masked_lm_output`.

    Gathers the hidden states at `mask_positions`, transforms them (dense H->H,
    GELU, LayerNorm) and decodes with the transpose of the backbone's token
    embedding matrix (the same variable, not a copy) plus a per-token bias.
    Logits are float32 whatever the dtype policy, so the loss stays stable under
    mixed precision.

    Args:
        token_embedding: the backbone's `token_embedding` layer; its matrix is
            the decoder. A head rebuilt from its config alone has none, so tasks
            build their head from the backbone (as `BertPretrainer` does).
        activation: `"gelu"` or `"gelu_approximate"`, the backbone's.
        kernel_initializer: initializer of the transform's kernel.

    Example:
    >>> head = MaskedLMHead(backbone.get_layer("token_embedding"))  # doctest: +SKIP
    >>> sequence = backbone(inputs)["sequence_output"]  # [batch, seq, hidden]  # doctest: +SKIP
    >>> logits = head(sequence, mask_positions=inputs["mask_positions"])  # doctest: +SKIP
    >>> logits.shape  # [batch, P, vocabulary_size], float32  # doctest: +SKIP
    """

    def __init__(self, token_embedding, activation="gelu", kernel_initializer=None, **kwargs):
        super().__init__(**kwargs)
        if activation not in ("gelu", "gelu_approximate"):
            raise ValueError(
                f"activation must be 'gelu' or 'gelu_approximate', got {activation!r}.")
        self.token_embedding = token_embedding
        self.activation = activation
        self.kernel_initializer = keras.initializers.get(kernel_initializer or bert_initializer())

    def build(self, inputs_shape, mask_positions_shape=None):
        hidden = inputs_shape[-1]
        self.dense = Dense(
            hidden, kernel_initializer=self.kernel_initializer, dtype=self.dtype_policy,
            name="transform_dense")
        self.dense.build((None, None, hidden))
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=LAYER_NORM_EPSILON, dtype=self.dtype_policy, name="transform_layer_norm")
        self.layer_norm.build((None, None, hidden))
        # Not autocast: added to the float32 logits.
        self.output_bias = self.add_weight(
            name="output_bias", shape=(self.token_embedding.input_dim,), initializer="zeros",
            autocast=False)

    def call(self, inputs, mask_positions):
        x = ops.take_along_axis(
            inputs, ops.expand_dims(ops.cast(mask_positions, "int32"), -1), axis=1)
        x = self.dense(x)
        x = keras.activations.gelu(x, approximate=self.activation == "gelu_approximate")
        x = self.layer_norm(x)
        logits = ops.matmul(x, ops.transpose(self._decoder_matrix(x.dtype)))
        return ops.cast(logits, "float32") + self.output_bias

    def _decoder_matrix(self, dtype):
        """The token embedding matrix; dequantized where the embedding is quantized
        (its int8/int4 rows with one scale each, as Keras' Embedding stores them)."""
        embedding = self.token_embedding
        matrix = ops.cast(embedding.embeddings, dtype)
        if embedding.quantization_mode in ("int8", "int4"):
            matrix = ops.divide(matrix, ops.expand_dims(
                ops.cast(embedding.embeddings_scale, dtype), -1))
        return matrix

    def get_config(self):
        config = super().get_config()
        config.update(
            activation=self.activation,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config
