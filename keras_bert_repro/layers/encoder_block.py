"""One post-LayerNorm Transformer encoder block, as in the BERT paper."""

import keras

from keras_bert_repro.layers.attention import MultiHeadSelfAttention
from keras_bert_repro.layers.dense import Dense
from keras_bert_repro.layers.dropout import Dropout

LAYER_NORM_EPSILON = 1e-12


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class TransformerEncoderBlock(keras.layers.Layer):
    """Self-attention and a GELU feed-forward, each followed by residual + LayerNorm.

    Args:
        num_heads: attention heads.
        intermediate_dim: width of the feed-forward (4 x hidden in the paper).
        dropout: dropout after each sub-layer (0.1 in the paper).
        attention_dropout: dropout on the attention probabilities (defaults to `dropout`).
        activation: `"gelu"` (exact, erf: what HF checkpoints declare) or
            `"gelu_approximate"` (tanh form: Google's original code and keras-hub).
        kernel_initializer: initializer of every dense kernel.
        causal: attend only to the current and earlier positions (left-to-right
            LM). Read at call time, so it can be switched on a built block.

    Example:
    >>> block = TransformerEncoderBlock(num_heads=4, intermediate_dim=256)
    >>> block(keras.ops.ones((2, 8, 64))).shape
    (2, 8, 64)
    """

    ACTIVATIONS = ("gelu", "gelu_approximate")

    def __init__(self, num_heads, intermediate_dim, dropout=0.1, attention_dropout=None,
                 activation="gelu", kernel_initializer="glorot_uniform", causal=False,
                 **kwargs):
        super().__init__(**kwargs)
        if activation not in self.ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {self.ACTIVATIONS}, got {activation!r}."
            )
        self.num_heads = int(num_heads)
        self.intermediate_dim = int(intermediate_dim)
        self.dropout_rate = float(dropout)
        self.attention_dropout = float(dropout if attention_dropout is None else attention_dropout)
        self.activation = activation
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.causal = bool(causal)

    def build(self, input_shape):
        hidden = input_shape[-1]
        init = self.kernel_initializer
        policy = self.dtype_policy
        self.attention = MultiHeadSelfAttention(
            self.num_heads, attention_dropout=self.attention_dropout,
            kernel_initializer=init, dtype=policy, name="attention")
        self.attention.build(input_shape)
        self.attention_dropout_layer = Dropout(self.dropout_rate, dtype=policy)
        self.attention_layer_norm = keras.layers.LayerNormalization(
            epsilon=LAYER_NORM_EPSILON, dtype=policy, name="attention_layer_norm")
        self.attention_layer_norm.build(input_shape)
        self.intermediate_dense = Dense(
            self.intermediate_dim, kernel_initializer=init, dtype=policy,
            name="intermediate_dense")
        self.intermediate_dense.build(input_shape)
        self.output_dense = Dense(
            hidden, kernel_initializer=init, dtype=policy, name="output_dense")
        self.output_dense.build(tuple(input_shape[:-1]) + (self.intermediate_dim,))
        self.output_dropout = Dropout(self.dropout_rate, dtype=policy)
        self.output_layer_norm = keras.layers.LayerNormalization(
            epsilon=LAYER_NORM_EPSILON, dtype=policy, name="output_layer_norm")
        self.output_layer_norm.build(input_shape)

    def call(self, inputs, padding_mask=None, attention_mask=None, training=None,
             first_token_only=False):
        """`first_token_only`: compute the output of the first position (`[CLS]`)
        alone, [batch, 1, hidden] — all a pooled-output task needs from the last block."""
        x = self.attention(inputs, padding_mask=padding_mask, attention_mask=attention_mask,
                           causal=self.causal, training=training,
                           first_token_only=first_token_only)
        residual = inputs[:, :1, :] if first_token_only else inputs
        x = self.attention_layer_norm(residual + self.attention_dropout_layer(x, training=training))
        h = self.intermediate_dense(x)
        h = keras.activations.gelu(h, approximate=self.activation == "gelu_approximate")
        h = self.output_dropout(self.output_dense(h), training=training)
        return self.output_layer_norm(x + h)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_heads=self.num_heads,
            intermediate_dim=self.intermediate_dim,
            dropout=self.dropout_rate,
            attention_dropout=self.attention_dropout,
            activation=self.activation,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            causal=self.causal,
        )
        return config
