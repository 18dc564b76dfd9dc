"""Multi-head self-attention with BERT's separate query/key/value projections."""

import keras
from keras import ops

from keras_bert_repro.layers.dropout import Dropout


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class MultiHeadSelfAttention(keras.layers.Layer):
    """Scaled dot-product self-attention over `num_heads` heads.

    Query, key, value and output projections are `[hidden, hidden]` dense layers,
    as in Google's release, so checkpoints map onto them without reshaping.
    Without attention dropout (inference, or `attention_dropout=0`) the product
    runs through `keras.ops.dot_product_attention`, which lets each backend pick
    its fused kernel; with dropout in training it runs the explicit softmax.

    Args:
        num_heads: number of attention heads; must divide the hidden size.
        attention_dropout: dropout rate on the attention probabilities.
        kernel_initializer: initializer of the projections.

    Example:
    >>> att = MultiHeadSelfAttention(num_heads=4)
    >>> x = keras.ops.ones((2, 8, 64))
    >>> att(x, padding_mask=keras.ops.ones((2, 8), "int32")).shape
    (2, 8, 64)
    """

    def __init__(self, num_heads, attention_dropout=0.0,
                 kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)
        self.attention_dropout = float(attention_dropout)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        hidden = input_shape[-1]
        if hidden % self.num_heads:
            raise ValueError(
                f"hidden size {hidden} is not divisible by num_heads={self.num_heads}."
            )
        self.head_dim = hidden // self.num_heads

        def dense(name):
            layer = keras.layers.Dense(
                hidden, kernel_initializer=self.kernel_initializer,
                dtype=self.dtype_policy, name=name,
            )
            layer.build(input_shape)
            return layer

        self.query_dense = dense("query")
        self.key_dense = dense("key")
        self.value_dense = dense("value")
        self.output_dense = dense("output")
        self.dropout = Dropout(self.attention_dropout, dtype=self.dtype_policy)

    def _split_heads(self, x):
        batch, length = ops.shape(x)[0], ops.shape(x)[1]
        return ops.reshape(x, (batch, length, self.num_heads, self.head_dim))

    def call(self, inputs, padding_mask=None, attention_mask=None, causal=False, training=None):
        """`padding_mask` [batch, seq]: 1 for real tokens. `attention_mask`
        [batch, seq, seq] (optional): 1 where a query may attend. `causal`: each
        position attends only to itself and earlier positions."""
        q = self._split_heads(self.query_dense(inputs))
        k = self._split_heads(self.key_dense(inputs))
        v = self._split_heads(self.value_dense(inputs))
        mask = None
        if padding_mask is not None:
            mask = ops.cast(padding_mask, "bool")[:, None, None, :]
        if attention_mask is not None:
            extra = ops.cast(attention_mask, "bool")[:, None, :, :]
            mask = extra if mask is None else ops.logical_and(mask, extra)
        if causal:
            positions = ops.arange(ops.shape(inputs)[1])
            earlier = (positions[None, :] <= positions[:, None])[None, None, :, :]
            mask = earlier if mask is None else ops.logical_and(mask, earlier)

        if training and self.attention_dropout > 0:
            context = self._explicit_attention(q, k, v, mask, training)
        else:
            context = ops.dot_product_attention(q, k, v, mask=mask)
        batch, length = ops.shape(inputs)[0], ops.shape(inputs)[1]
        context = ops.reshape(context, (batch, length, self.num_heads * self.head_dim))
        return self.output_dense(context)

    def _explicit_attention(self, q, k, v, mask, training):
        scores = ops.einsum("bqhd,bkhd->bhqk", q, k) / ops.sqrt(
            ops.cast(self.head_dim, q.dtype))
        # Softmax in float32 so bf16 training stays stable.
        scores = ops.cast(scores, "float32")
        if mask is not None:
            scores = ops.where(mask, scores, ops.full_like(scores, -1e9))
        probs = ops.cast(ops.softmax(scores, axis=-1), q.dtype)
        probs = self.dropout(probs, training=training)
        return ops.einsum("bhqk,bkhd->bqhd", probs, v)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            num_heads=self.num_heads,
            attention_dropout=self.attention_dropout,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config
