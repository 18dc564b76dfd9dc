"""Dense layer whose JAX gradient runs as two plain matmuls."""

import functools

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class Dense(keras.layers.Dense):
    """`keras.layers.Dense` with a faster backward pass on JAX.

    JAX's automatic transpose of `x @ kernel` gives XLA a kernel-gradient dot
    that contracts the leading (batch x seq) axes against a transposed copy of
    the output gradient; XLA's CPU runs a [4096, 1536] one in ~55 ms where
    `einsum("ti,to->io")` over the flattened tokens takes ~25. A `jax.custom_vjp`
    writes the gradient in that form: a MiniLM-L6 training step 2.11 -> 1.93 s
    on the CPU. Other backends and quantized kernels keep Keras' path.

    Example:
    >>> Dense(8)(keras.ops.ones((2, 5, 4))).shape
    (2, 5, 8)
    """

    def quantize(self, mode=None, type_check=True, config=None):
        """Keras' Dense quantization ("int8", "int4", "float8", ...). Keras refuses
        subclasses that do not say they support it; this one does: its fast path
        is only taken for float kernels."""
        super().quantize(mode, type_check=False, config=config)

    def call(self, inputs, training=None):
        if keras.backend.backend() != "jax" or self.quantization_mode is not None:
            return super().call(inputs, training=training)
        x = _jax_matmul()(inputs, ops.cast(self.kernel, inputs.dtype))
        if self.bias is not None:
            x = ops.add(x, self.bias)
        if self.activation is not None:
            x = self.activation(x)
        return x


@functools.lru_cache(maxsize=None)
def _jax_matmul():
    """`x @ w` with a custom VJP: dx = g @ w.T, dw = x.T @ g over flattened tokens."""
    import jax
    import jax.numpy as jnp

    @jax.custom_vjp
    def matmul(x, w):
        return x @ w

    def forward(x, w):
        return x @ w, (x, w)

    def backward(saved, g):
        x, w = saved
        tokens = x.reshape(-1, x.shape[-1])
        grads = g.reshape(-1, g.shape[-1])
        return g @ w.T, jnp.einsum("ti,to->io", tokens, grads)

    matmul.defvjp(forward, backward)
    return matmul
