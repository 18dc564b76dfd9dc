"""Dropout that takes each backend's fastest kernel."""

import keras


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class Dropout(keras.layers.Dropout):
    """`keras.layers.Dropout`, except that on the torch backend it calls
    `torch.nn.functional.dropout` (torch's fused kernel, drawing from torch's global
    generator, which `keras.utils.set_random_seed` seeds) instead of Keras' seeded
    path (a Bernoulli mask, then a select): a fifth of a MiniLM training step on the
    CPU. Other backends, and `noise_shape`, keep Keras' implementation.

    Example:
    >>> Dropout(0.1)(keras.ops.ones((2, 3)), training=False).shape
    (2, 3)
    """

    def call(self, inputs, training=False):
        if (training and 0.0 < self.rate < 1.0 and self.noise_shape is None
                and keras.backend.backend() == "torch"):
            import torch

            return torch.nn.functional.dropout(inputs, p=self.rate, training=True)
        return super().call(inputs, training=training)
