"""Multi-head self-attention with BERT's separate query/key/value projections."""

import keras
from keras import ops

from keras_bert_repro.layers.dense import Dense
from keras_bert_repro.layers.dropout import Dropout


def fused_attention_is_faster():
    """Whether `keras.ops.dot_product_attention` beats the explicit softmax here.

    Measured on the CPU (MiniLM-L6 forward, batch 32 x 128): torch's SDPA is on
    par or faster; XLA's CPU attention op ran 0.96-1.00x keras-hub against
    1.09-1.10x for the explicit path (TensorFlow: 1.02-1.03x against 1.04-1.15x).
    On GPU/TPU the fused op is JAX's and torch's flash attention.
    """
    backend = keras.backend.backend()
    if backend == "torch":
        return True
    if backend == "jax":
        import jax

        return jax.default_backend() != "cpu"
    return False


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class MultiHeadSelfAttention(keras.layers.Layer):
    """Scaled dot-product self-attention over `num_heads` heads.

    Query, key, value and output projections are `[hidden, hidden]` dense layers,
    as in Google's release, so checkpoints map onto them without reshaping.
    Without attention dropout (inference, or `attention_dropout=0`) the product
    runs through `keras.ops.dot_product_attention` where that is faster (torch's
    SDPA; JAX on GPU/TPU, flash attention); with dropout in training, and on
    TensorFlow and JAX's CPU, it runs the explicit softmax in heads-major layout.

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
            layer = Dense(
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

    def call(self, inputs, padding_mask=None, attention_mask=None, causal=False, training=None,
             first_token_only=False):
        """`padding_mask` [batch, seq]: 1 for real tokens. `attention_mask`
        [batch, seq, seq] (optional): 1 where a query may attend. `causal`: each
        position attends only to itself and earlier positions. `first_token_only`:
        only the first position (`[CLS]`) queries, so the output is [batch, 1, hidden];
        keys and values still cover every position."""
        queries = inputs[:, :1, :] if first_token_only else inputs
        q = self._split_heads(self.query_dense(queries))
        k = self._split_heads(self.key_dense(inputs))
        v = self._split_heads(self.value_dense(inputs))
        mask = None
        if padding_mask is not None:
            mask = ops.cast(padding_mask, "bool")[:, None, None, :]
        if attention_mask is not None:
            extra = ops.cast(attention_mask, "bool")[:, None, :, :]
            extra = extra[:, :, :1, :] if first_token_only else extra
            mask = extra if mask is None else ops.logical_and(mask, extra)
        if causal:
            key_positions = ops.arange(ops.shape(inputs)[1])
            query_positions = key_positions[:1] if first_token_only else key_positions
            earlier = (key_positions[None, :] <= query_positions[:, None])[None, None, :, :]
            mask = earlier if mask is None else ops.logical_and(mask, earlier)

        if (training and self.attention_dropout > 0) or not fused_attention_is_faster():
            context = self._explicit_attention(q, k, v, mask, training)
        else:
            context = ops.dot_product_attention(q, k, v, mask=mask)
        batch, length = ops.shape(queries)[0], ops.shape(queries)[1]
        context = ops.reshape(context, (batch, length, self.num_heads * self.head_dim))
        return self.output_dense(context)

    def _explicit_attention(self, q, k, v, mask, training):
        # Scale the queries, not the [batch, heads, seq, seq] scores (head_dim/seq the work).
        q = q * ops.cast(1.0 / self.head_dim ** 0.5, q.dtype)
        # Heads-major [batch, heads, seq, head_dim] operands: plain batched matmuls
        # (XLA's CPU forward ran the [batch, seq, heads, dim] einsums 3.6x slower).
        q, k, v = (ops.transpose(t, (0, 2, 1, 3)) for t in (q, k, v))
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2)))
        # Softmax in float32 so bf16 training stays stable.
        scores = ops.cast(scores, "float32")
        if mask is not None:
            # An additive bias the size of the mask: one broadcast add, and the
            # gradient passes through it untouched (a select needs one each way).
            scores = scores + ops.where(mask, 0.0, -1e9)
        probs = ops.cast(ops.softmax(scores, axis=-1), q.dtype)
        probs = self.dropout(probs, training=training)
        return ops.transpose(ops.matmul(probs, v), (0, 2, 1, 3))

    def get_config(self):
        config = super().get_config()
        config.update(
            num_heads=self.num_heads,
            attention_dropout=self.attention_dropout,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config
