"""Dropout that takes each backend's fastest kernel."""

import functools

import keras


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class Dropout(keras.layers.Dropout):
    """`keras.layers.Dropout` with a faster mask where Keras' is slow:

    - torch: on the CPU, four 15-bit draws from each 64-bit word of torch's
      generator (`random_()` is ~7x cheaper than `bernoulli_`, which draws one
      double per element on one thread); keep probability `round(keep * 2**15) /
      2**15` (0.1 -> 0.099991), scaled by its exact inverse. Elsewhere torch's fused
      `F.dropout`. Both draw from torch's global generator, which
      `keras.utils.set_random_seed` seeds;
    - JAX: one seed per call from the layer's `SeedGenerator`, then a counter-based
      hash (murmur3's 32-bit finalizer over the element index) instead of
      threefry random bits for every element, which XLA runs as ~90 ms per
      attention mask of MiniLM at batch 32 x 128 on the CPU.

    Together those masks were about a fifth (torch) to a quarter (JAX) of a MiniLM
    training step on the CPU. TensorFlow, and `noise_shape`, keep Keras' path.

    Example:
    >>> Dropout(0.1)(keras.ops.ones((2, 3)), training=False).shape
    (2, 3)
    """

    def call(self, inputs, training=False):
        if training and 0.0 < self.rate < 1.0 and self.noise_shape is None:
            if keras.backend.backend() == "torch":
                return _torch_dropout(inputs, self.rate)
            if keras.backend.backend() == "jax":
                return self._hashed_dropout(inputs)
        return super().call(inputs, training=training)

    def _hashed_dropout(self, inputs):
        import jax.numpy as jnp

        seed = keras.random.randint((2,), 0, 2 ** 31 - 1, dtype="int32",
                                    seed=self.seed_generator).astype(jnp.uint32)
        x = jnp.arange(inputs.size, dtype=jnp.uint32).reshape(inputs.shape)
        x = x * jnp.uint32(0x9E3779B9) + seed[0]
        for shift, multiplier in ((16, 0x85EBCA6B), (13, 0xC2B2AE35)):
            x = (x ^ (x >> shift)) * jnp.uint32(multiplier)
        x = (x ^ (x >> 16)) ^ seed[1]
        x = (x ^ (x >> 15)) * jnp.uint32(0x2C1B3C6D)
        x = x ^ (x >> 12)
        keep = 1.0 - self.rate
        kept = (x >> 8) < jnp.uint32(round(keep * (1 << 24)))
        return jnp.where(kept, inputs / jnp.asarray(keep, inputs.dtype), jnp.zeros((), inputs.dtype))


def _torch_dropout(inputs, rate):
    import torch

    if inputs.device.type != "cpu":
        return torch.nn.functional.dropout(inputs, p=rate, training=True)
    return _cpu_dropout_class().apply(inputs, rate)


def _cpu_keep_mask(shape, rate):
    """Bool mask of `shape` and its scale: four 15-bit lanes per int64 draw."""
    import torch

    threshold = max(1, round((1.0 - rate) * 32768))
    size = int(torch.Size(shape).numel())
    words = torch.empty((size + 3) // 4, dtype=torch.int64).random_()  # [0, 2**63)
    lanes = words.view(torch.int16)[:size].view(shape)
    # `<=` against threshold - 1: 32768 itself does not fit in int16.
    return lanes.bitwise_and_(0x7FFF) <= threshold - 1, 32768.0 / threshold


@functools.lru_cache(maxsize=None)
def _cpu_dropout_class():
    """The autograd Function, built on first use (torch is imported only then)."""
    import torch

    class CpuDropout(torch.autograd.Function):
        """x * mask * scale; keeps the bool mask (1 byte per element) for backward."""

        @staticmethod
        def forward(ctx, inputs, rate):
            mask, scale = _cpu_keep_mask(inputs.shape, rate)
            ctx.save_for_backward(mask)
            ctx.scale = scale
            return inputs * mask * scale

        @staticmethod
        def backward(ctx, grad):
            (mask,) = ctx.saved_tensors
            return grad * mask * ctx.scale, None

    return CpuDropout

