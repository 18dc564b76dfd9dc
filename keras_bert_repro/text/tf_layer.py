"""Base for Keras layers that run TensorFlow (Text) ops whatever the backend."""

import keras
import numpy as np
import tensorflow as tf


class TFTextLayer(keras.layers.Layer):
    """A layer whose `call` runs TF ops: inside `tf.data` and SavedModels as is,
    and eagerly on any backend, where outputs come back as TF tensors (ragged
    ones stay `tf.RaggedTensor`) on TensorFlow and as numpy elsewhere."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.built = True

    def eager_inputs(self, inputs):
        """Subclasses whose `call` is pure TF return `inputs` as tensors here, so
        eager calls run the traced graph too (eager dispatch of a hundred string
        ops costs ~25 ms a call); None (the default) runs `call` op by op."""
        return None

    def _traced(self, method, key=None):
        """`method` as a `tf.function`, one per `key` (the input ranks): with
        reduce_retracing, a scalar call then a batch call would otherwise retrace
        for unknown rank, which TF Text rejects."""
        calls = self.__dict__.setdefault("_graph_calls", {})
        name = (method.__name__, key)
        if name not in calls:
            calls[name] = tf.function(method, autograph=False, reduce_retracing=True)
        return calls[name]

    def __call__(self, inputs, *args, **kwargs):
        if not tf.executing_eagerly():
            # Inside tf.data or another tf.function: trace `call` once per input
            # structure and reuse it, instead of re-tracing hundreds of TF Text ops
            # for every new dataset.
            return self._traced(self.call)(inputs, *args, **kwargs)
        tensors = None if args or kwargs else self.eager_inputs(inputs)
        if tensors is not None:
            ranks = tuple(t.shape.rank for t in tf.nest.flatten(tensors))
            outputs = self._traced(self.call, ranks)(tensors)
        else:
            outputs = self.call(inputs, *args, **kwargs)
        return to_backend_outputs(outputs)


def to_backend_outputs(outputs):
    """Eager TF outputs as the backend wants them: TF tensors on TensorFlow, numpy
    elsewhere (ragged ones stay `tf.RaggedTensor`)."""
    if keras.config.backend() == "tensorflow":
        return outputs
    return tf.nest.map_structure(_to_numpy_unless_ragged, outputs)


def _to_numpy_unless_ragged(x):
    if isinstance(x, tf.RaggedTensor):
        return x
    return np.asarray(x) if isinstance(x, tf.Tensor) else x


def to_string_tensor(x, name="text"):
    """Python strings, lists, numpy or TF tensors -> a tf.string tensor."""
    if isinstance(x, (tf.Tensor, tf.RaggedTensor)):
        if x.dtype != tf.string:
            raise TypeError(f"{name} must be strings, got a {x.dtype.name} tensor.")
        return x
    if isinstance(x, (str, bytes)):
        return tf.constant(x)
    try:
        return tf.constant(list(x) if not isinstance(x, np.ndarray) else x, dtype=tf.string)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be a string or a sequence of strings: {e}") from None
