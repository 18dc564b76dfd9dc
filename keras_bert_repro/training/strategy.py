"""Picks the distribution for training: TPUStrategy / MirroredStrategy /
MultiWorkerMirroredStrategy on the TensorFlow backend, a data-parallel device
mesh on JAX, one device otherwise.

Example:
>>> from keras_bert_repro.training import select_distribution
>>> dist = select_distribution(strategy="auto")  # doctest: +SKIP
>>> with dist.scope():  # doctest: +SKIP
...     model = make_model()
...     model.compile(optimizer=dist.prepare_optimizer(bert_adamw(1e-4)))
"""

import contextlib
import dataclasses
import json
import os

import keras

STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker", "tpu")


class DistributionError(RuntimeError):
    """The requested accelerator or cluster is not there (one-line message)."""


@dataclasses.dataclass
class Distribution:
    """What the recipe needs from a strategy, whatever the backend.

    `scope()` wraps model and optimizer creation; `num_replicas` divides the
    global batch; `is_chief` says whether this process writes checkpoints
    and the final preset; `description` is printed.
    """

    description: str
    num_replicas: int = 1
    is_chief: bool = True
    tf_strategy: object = None
    worker_index: int = 0

    def scope(self):
        return self.tf_strategy.scope() if self.tf_strategy is not None \
            else contextlib.nullcontext()

    def prepare_optimizer(self, optimizer):
        """Returns `optimizer` made to clip gradients as one device does.

        Keras on TensorFlow clips each replica's share of the gradient before
        the cross-replica sum, so `global_clipnorm=1.0` over N replicas is not
        the one-device update. With several TensorFlow replicas this switches
        `optimizer` (in place, state kept) to `ClipAfterCrossReplicaSum`; JAX
        meshes already clip the global gradient, one device has nothing to do.
        """
        if self.tf_strategy is None or self.num_replicas == 1 \
                or isinstance(optimizer, ClipAfterCrossReplicaSum):
            return optimizer
        optimizer.__class__ = _clip_after_sum_class(type(optimizer))
        return optimizer


class ClipAfterCrossReplicaSum:
    """Mixin for Keras optimizers on the TensorFlow backend: under a `tf.distribute`
    strategy with several replicas, clipping (`global_clipnorm`, `clipnorm`,
    `clipvalue`) applies to the summed gradient of the global batch, as on one
    device, not to each replica's share before the sum (Keras' order).

    Example:
    >>> class MyAdamW(ClipAfterCrossReplicaSum, keras.optimizers.AdamW):  # doctest: +SKIP
    ...     pass
    """

    def _clip_gradients(self, grads):
        if _replicas_in_sync() > 1:
            return grads  # clipped in _backend_update_step, after the sum
        return super()._clip_gradients(grads)

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        if _replicas_in_sync() == 1:
            return super()._backend_update_step(grads, trainable_variables, learning_rate)
        import tensorflow as tf

        variables = [v.value if isinstance(v, keras.Variable) else v for v in trainable_variables]
        # What Keras' TF optimizer does, with the clipping between the sum and the update.
        summed = self._all_reduce_sum_gradients(list(zip(grads, variables)))
        clipped = super()._clip_gradients([g for g, _ in summed])
        tf.__internal__.distribute.interim.maybe_merge_call(
            self._distributed_tf_update_step, self._distribution_strategy,
            list(zip(clipped, variables)), learning_rate)


_CLIP_AFTER_SUM_CLASSES = {}


def _clip_after_sum_class(base):
    """`base` with `ClipAfterCrossReplicaSum` mixed in; serializes as `base`."""
    if base not in _CLIP_AFTER_SUM_CLASSES:
        _CLIP_AFTER_SUM_CLASSES[base] = type(base.__name__, (ClipAfterCrossReplicaSum, base), {
            "__module__": base.__module__, "__qualname__": base.__qualname__})
    return _CLIP_AFTER_SUM_CLASSES[base]


def _replicas_in_sync():
    """Replicas of the enclosing replica context (1 outside tf.distribute)."""
    if keras.config.backend() != "tensorflow":
        return 1
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    return context.num_replicas_in_sync if context is not None else 1


def _tpu(tpu):
    backend = keras.config.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver(
                tpu="" if tpu == "local" else tpu)
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
            strategy = tf.distribute.TPUStrategy(resolver)
        except Exception as error:  # the resolver raises several types; all mean "no TPU"
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise DistributionError(f"no TPU reachable at --tpu={tpu!r}: {reason}") from None
        return Distribution(f"TPUStrategy ({tpu}), {strategy.num_replicas_in_sync} cores",
                            strategy.num_replicas_in_sync, tf_strategy=strategy)
    if backend == "jax":
        import jax

        try:
            devices = jax.devices("tpu")
        except RuntimeError:
            devices = []
        if not devices:
            raise DistributionError(f"no TPU devices visible to JAX (--tpu={tpu!r}); run on a "
                                    "TPU VM, or drop --tpu")
        return _jax_data_parallel(devices, "TPU")
    raise DistributionError(f"--tpu needs the tensorflow or jax backend, not {backend}")


def _jax_data_parallel(devices, kind):
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    return Distribution(f"JAX data parallel over {len(devices)} {kind} devices", len(devices))


def _tf_config():
    config = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}")
    task = config.get("task", {})
    return config, task.get("type", "worker"), int(task.get("index", 0))


def _multi_worker_mirrored_strategy_class():
    """`tf.distribute.MultiWorkerMirroredStrategy` whose `reduce` does what Keras 3's
    `fit` asks of it (keras-team/keras#20585, #20329):

    - to build the model, `fit` reduces a whole nested batch in one call, which
      MirroredStrategy maps over and the multi-worker strategy rejects ("Attempt to
      convert a value ({...}) ... to a Tensor"): reduced here leaf by leaf;
    - each step, `fit` reduces its scalar logs with `axis=0` ("Invalid reduction
      dimension 0 for input with 0 dimensions"): a scalar is reduced over the
      replicas only, as Keras does for the other strategies.
    """
    import tensorflow as tf

    class MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
        def reduce(self, reduce_op, value, axis):
            reduce = super().reduce
            if isinstance(value, (dict, list, tuple)):
                return tf.nest.map_structure(lambda v: reduce(reduce_op, v, axis), value)
            local = self.experimental_local_results(value)[0]
            if axis is not None and getattr(local, "shape", None) is not None \
                    and local.shape.rank == 0:
                axis = None
            return reduce(reduce_op, value, axis)

    return MultiWorkerMirroredStrategy


def select_distribution(strategy="auto", tpu=None):
    """Returns a `Distribution` for `strategy` (one of `STRATEGIES`).

    `tpu` (a name, `grpc://host:port` or `local`) selects TPUs. `"auto"` uses a
    TPU when `tpu` is given, all GPUs (MirroredStrategy / JAX mesh) when more
    than one is visible, else one device. A missing TPU or cluster raises
    `DistributionError` with a one-line reason.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"Unknown strategy {strategy!r}; expected one of {STRATEGIES}.")
    backend = keras.config.backend()
    if tpu or strategy == "tpu":
        return _tpu(tpu or "local")
    if backend == "jax":
        import jax

        devices = jax.devices()
        if strategy in ("mirrored", "multi_worker") or (strategy == "auto" and len(devices) > 1):
            if strategy == "multi_worker" and jax.process_count() == 1:
                raise DistributionError("multi_worker on JAX needs jax.distributed.initialize() "
                                        "in every process (one process found)")
            return _jax_data_parallel(jax.devices(), devices[0].platform.upper())
        return Distribution(f"one {devices[0].platform.upper()} device (JAX)")
    if backend != "tensorflow":
        if strategy not in ("auto", "one_device"):
            raise DistributionError(f"--strategy={strategy} needs the tensorflow or jax backend; "
                                    f"{backend} runs on one device here")
        return Distribution(f"one device ({backend})")

    import tensorflow as tf

    if strategy == "multi_worker":
        config, task_type, index = _tf_config()
        if not config.get("cluster"):
            raise DistributionError("--strategy=multi_worker needs TF_CONFIG with a cluster spec")
        mwms = _multi_worker_mirrored_strategy_class()()
        chief = (task_type == "chief") or (task_type == "worker" and index == 0
                                          and "chief" not in config["cluster"])
        return Distribution(f"MultiWorkerMirroredStrategy, {mwms.num_replicas_in_sync} replicas "
                            f"(this is {task_type} {index})", mwms.num_replicas_in_sync,
                            is_chief=chief, tf_strategy=mwms, worker_index=index)
    gpus = tf.config.list_logical_devices("GPU")
    if strategy == "mirrored" or (strategy == "auto" and len(gpus) > 1):
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        mirrored = tf.distribute.MirroredStrategy(devices)
        return Distribution(f"MirroredStrategy over {len(devices)} device"
                            + ("s" if len(devices) > 1 else ""),
                            mirrored.num_replicas_in_sync, tf_strategy=mirrored)
    device = (gpus[0] if gpus else tf.config.list_logical_devices("CPU")[0]).name
    return Distribution(f"one device ({device})",
                        tf_strategy=tf.distribute.OneDeviceStrategy(device))
