"""A learnt weighted sum of hidden layers: the paper's "weighted sum" features (Table 7)."""

import keras


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class ScalarMix(keras.layers.Layer):
    """`gamma * sum_i softmax(w)_i * layer_i` over a list of same-shaped tensors.

    The weights start equal (w = 0, gamma = 1), so training begins from the
    mean of the layers, as ELMo's scalar mix.

    Example:
    >>> layers = backbone.feature_extractor(range(13), combine=None)(inputs)  # doctest: +SKIP
    >>> features = ScalarMix()(layers)  # [batch, seq, hidden]  # doctest: +SKIP
    """

    def build(self, shapes):
        if not isinstance(shapes, (list, tuple)) or not shapes or \
                not isinstance(shapes[0], (list, tuple)):
            raise ValueError(f"ScalarMix takes a list of tensors, got shapes {shapes}.")
        self.layer_weights = self.add_weight(shape=(len(shapes),), initializer="zeros",
                                             name="layer_weights")
        self.gamma = self.add_weight(shape=(), initializer="ones", name="gamma")

    def call(self, layers):
        weights = keras.ops.softmax(keras.ops.cast(self.layer_weights, layers[0].dtype))
        mixed = sum(weights[i] * layer for i, layer in enumerate(layers))
        return keras.ops.cast(self.gamma, mixed.dtype) * mixed

    def compute_output_shape(self, shapes):
        return tuple(shapes[0])
