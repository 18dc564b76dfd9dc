"""Step checkpoints that survive a kill: weights + optimizer state every N steps,
written atomically, and the step to resume from.

Example:
>>> ckpt = StepCheckpoint("runs/pretrain/checkpoints")  # doctest: +SKIP
>>> step = ckpt.restore(model)  # 0 on a fresh run  # doctest: +SKIP
>>> model.fit(..., callbacks=[ckpt.callback(steps_per_epoch=1000)])  # doctest: +SKIP
"""

import json
import os

import keras

WEIGHTS = "checkpoint.weights.h5"
STATE = "checkpoint.json"


class StepCheckpoint:
    """One checkpoint directory: `checkpoint.weights.h5` (model and optimizer
    variables) and `checkpoint.json` (the step it holds). A new checkpoint is
    written under a temporary name and renamed, so a kill mid-write leaves the
    previous one intact. Only the writer (`is_chief`) touches the directory.
    """

    def __init__(self, directory, is_chief=True):
        self.directory = directory
        self.is_chief = is_chief

    def step(self):
        """The step of the last finished checkpoint (0 when there is none)."""
        path = os.path.join(self.directory, STATE)
        if not os.path.exists(path):
            return 0
        with open(path, encoding="utf-8") as f:
            return int(json.load(f)["step"])

    def restore(self, model):
        """Loads the last checkpoint into `model` (built, compiled); returns its step."""
        step = self.step()
        if step:
            if not model.optimizer.built:
                model.optimizer.build(model.trainable_variables)
            model.load_weights(os.path.join(self.directory, WEIGHTS))
        return step

    def save(self, model, step):
        if not self.is_chief:
            return
        os.makedirs(self.directory, exist_ok=True)
        weights, state = (os.path.join(self.directory, name) for name in (WEIGHTS, STATE))
        model.save_weights(weights + ".tmp.weights.h5", overwrite=True)
        os.replace(weights + ".tmp.weights.h5", weights)
        with open(state + ".tmp", "w", encoding="utf-8") as f:
            json.dump({"step": int(step)}, f)
        os.replace(state + ".tmp", state)

    def callback(self, steps_per_epoch):
        """A Keras callback that saves at the end of every epoch of `steps_per_epoch` steps."""
        return _SaveEveryEpoch(self, steps_per_epoch)


class _SaveEveryEpoch(keras.callbacks.Callback):
    def __init__(self, checkpoint, steps_per_epoch):
        super().__init__()
        self.checkpoint = checkpoint
        self.steps_per_epoch = steps_per_epoch

    def on_epoch_end(self, epoch, logs=None):
        self.checkpoint.save(self.model, (epoch + 1) * self.steps_per_epoch)
