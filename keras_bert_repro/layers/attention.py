"""Multi-head self-attention with BERT's separate query/key/value projections."""

import keras
from keras import ops

from keras_bert_repro.layers.dense import Dense
from keras_bert_repro.layers.dropout import Dropout


def fused_attention_is_faster():
    """Whether `keras.ops.dot_product_attention` beats the explicit softmax here
    (TensorFlow and JAX; torch runs its SDPA itself, `_torch_attention`).

    Measured on the CPU (MiniLM-L6 forward, batch 32 x 128): XLA's CPU attention
    op ran 0.96-1.00x keras-hub against 1.09-1.10x for the explicit path
    (TensorFlow: 1.02-1.03x against 1.04-1.15x). On JAX's GPU/TPU the fused op is
    its flash / cuDNN attention.
    """
    if keras.backend.backend() == "jax":
        import jax

        return jax.default_backend() != "cpu"
    return False


def on_accelerator(x):
    """Whether the torch tensor `x` lives on a GPU (or another non-CPU device)."""
    return x.device.type != "cpu"


def _torch_attention(q, k, v, mask, dropout_rate):
    """`torch.nn.functional.scaled_dot_product_attention` on [batch, seq, heads, dim]
    operands, with a boolean `mask` (True: attend) and its own `dropout_p` on the
    probabilities (Keras' `dot_product_attention` has none)."""
    import torch

    if mask is not None:
        # Additive and finite, as Keras' op: a row with no key left stays a number.
        mask = torch.where(mask, 0.0, -0.7 * torch.finfo(q.dtype).max).to(q.dtype)
    # Heads-major and contiguous, as Keras' op passes them (about 2% faster on the CPU).
    q, k, v = (t.transpose(1, 2).contiguous() for t in (q, k, v))
    out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                                           dropout_p=dropout_rate)
    return out.transpose(1, 2)


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class MultiHeadSelfAttention(keras.layers.Layer):
    """Scaled dot-product self-attention over `num_heads` heads.

    Query, key, value and output projections are `[hidden, hidden]` dense layers,
    as in Google's release, so checkpoints map onto them without reshaping.
    On torch the product is its fused SDPA, on a GPU with attention dropout
    included (`dropout_p`), so training uses the flash / memory-efficient kernels
    too. On JAX's GPU/TPU, without attention dropout (inference, or
    `attention_dropout=0`), it is `keras.ops.dot_product_attention` (flash / cuDNN
    attention). Training with dropout on the CPU (torch's SDPA dropout was slower
    there), on TensorFlow and on JAX (Keras' fused op has no dropout) runs the
    explicit softmax in heads-major layout.

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

        dropout = bool(training) and self.attention_dropout > 0
        if keras.backend.backend() == "torch" and (not dropout or on_accelerator(q)):
            # torch's SDPA, with its own dropout in training on a GPU: the flash /
            # memory-efficient kernels. (On the CPU, SDPA's dropout path ran a
            # MiniLM-L6 train step 8% slower than the explicit one.)
            context = _torch_attention(q, k, v, mask, self.attention_dropout if dropout else 0.0)
        elif dropout or not fused_attention_is_faster():
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
