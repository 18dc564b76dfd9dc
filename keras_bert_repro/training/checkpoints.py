"""Step checkpoints that survive a kill: weights + optimizer state every N steps,
written atomically, and the step to resume from.

Example:
>>> ckpt = StepCheckpoint("runs/pretrain/checkpoints")  # doctest: +SKIP
>>> step = ckpt.restore(model)  # 0 on a fresh run  # doctest: +SKIP
>>> model.fit(..., steps_per_epoch=1000, callbacks=[ckpt.callback()])  # doctest: +SKIP
"""

import json
import os

import keras
import numpy as np

STATE = "checkpoint.json"


def _weights_name(step):
    return f"checkpoint-{int(step)}.weights.h5"


class StepCheckpoint:
    """One checkpoint directory: `checkpoint-<step>.weights.h5` (model and
    optimizer variables) and `checkpoint.json` naming the step and its file. The
    weights are written first, then `checkpoint.json` is replaced atomically, then
    older weights are deleted: a kill at any point leaves a complete checkpoint
    that `checkpoint.json` points to. Only the writer (`is_chief`) touches the
    directory.
    """

    def __init__(self, directory, is_chief=True):
        self.directory = directory
        self.is_chief = is_chief

    def _state(self):
        path = os.path.join(self.directory, STATE)
        if not os.path.exists(path):
            return {"step": 0}
        with open(path, encoding="utf-8") as f:
            return json.load(f)

    def step(self):
        """The step of the last finished checkpoint (0 when there is none)."""
        return int(self._state()["step"])

    def restore(self, model):
        """Loads the last checkpoint into `model` (built, compiled); returns its step.

        Under a distribution, call it inside its scope: it builds the optimizer.
        """
        state = self._state()
        step = int(state["step"])
        if step:
            if not model.optimizer.built:
                model.optimizer.build(model.trainable_variables)
            # (A checkpoint.json without "weights" is from before step-named files.)
            name = state.get("weights", "checkpoint.weights.h5")
            model.load_weights(os.path.join(self.directory, name))
            iterations = optimizer_step(model)
            if iterations != step:
                raise ValueError(f"{self.directory}: checkpoint.json says step {step} but its "
                                 f"weights hold the optimizer at step {iterations}.")
        return step

    def save(self, model, step):
        if not self.is_chief:
            return
        os.makedirs(self.directory, exist_ok=True)
        name = _weights_name(step)
        weights, state = os.path.join(self.directory, name), os.path.join(self.directory, STATE)
        model.save_weights(weights + ".tmp.weights.h5", overwrite=True)
        os.replace(weights + ".tmp.weights.h5", weights)
        with open(state + ".tmp", "w", encoding="utf-8") as f:
            json.dump({"step": int(step), "weights": name}, f)
        os.replace(state + ".tmp", state)
        for old in os.listdir(self.directory):  # older checkpoints and leftover temporaries
            if old.startswith("checkpoint-") and old.endswith(".weights.h5") and old != name:
                os.remove(os.path.join(self.directory, old))

    def callback(self):
        """A Keras callback that saves at the end of every epoch, under the optimizer's
        step (so epochs of any length, and several `fit` calls, name it right)."""
        return _SaveEveryEpoch(self)


def optimizer_step(model):
    """The optimizer's step count (batches applied) as an int."""
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


class _SaveEveryEpoch(keras.callbacks.Callback):
    def __init__(self, checkpoint):
        super().__init__()
        self.checkpoint = checkpoint

    def on_epoch_end(self, epoch, logs=None):
        self.checkpoint.save(self.model, optimizer_step(self.model))


def reseed(model, seed):
    """Restarts every random stream of a run at `seed`: Python's, numpy's, TF's and
    torch's global generators (`keras.utils.set_random_seed`) and each layer's
    `SeedGenerator` (dropout), so that what follows depends on `seed` alone, not on
    the steps this process ran before. Called at the start of each checkpoint
    interval, it makes a resumed run draw the same dropout masks as one never
    stopped (a checkpoint holds no random state).

    Example:
    >>> reseed(model, seed=1000 + interval)  # doctest: +SKIP
    """
    keras.utils.set_random_seed(int(seed) % 2 ** 31)
    states = [v for v in model.variables if v.path.endswith("seed_generator_state")]
    for i, state in enumerate(states):
        value = np.array([(int(seed) * 7919 + i) % 2 ** 31, 0])
        state.assign(value.astype(keras.backend.standardize_dtype(state.dtype)))
