"""Learning-rate schedules of the paper: linear warm-up, then linear decay to zero."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Rises linearly from 0 to `peak_learning_rate` over the warm-up, then falls
    linearly to 0 at `total_steps` (BERT's `polynomial_decay` with power 1).

    Args:
        peak_learning_rate: the rate at the end of the warm-up.
        total_steps: steps of the whole run. Tasks fill it in at `fit` time when
            it is left `None` (the number of batches times epochs); until then the
            rate is the constant peak rate.
        warmup_fraction: the share of `total_steps` spent warming up (0.1 in the
            paper's fine-tuning; pre-training uses `warmup_steps=10000`).
        warmup_steps: an absolute number of warm-up steps (overrides the fraction).
        start_step: the optimizer step at which this schedule begins (continued
            training: a second `fit` restarts the schedule from there).

    Example:
    >>> lr = WarmupLinearDecay(5e-5, total_steps=1000)
    >>> [round(float(lr(s)), 9) for s in (50, 100, 550, 1000)]
    [2.5e-05, 5e-05, 2.5e-05, 0.0]
    """

    def __init__(self, peak_learning_rate, total_steps=None, warmup_fraction=0.1,
                 warmup_steps=None, start_step=0):
        self.peak_learning_rate = float(peak_learning_rate)
        self.total_steps = total_steps
        self.warmup_fraction = float(warmup_fraction)
        self.warmup_steps = warmup_steps
        self.start_step = int(start_step)

    def _warmup(self):
        if self.warmup_steps is not None:
            return int(self.warmup_steps)
        return int(self.warmup_fraction * self.total_steps)

    def __call__(self, step):
        if self.total_steps is None:
            # Not sized yet (train_on_batch, or a custom loop): the peak rate.
            return ops.convert_to_tensor(self.peak_learning_rate, "float32")
        step = ops.cast(step, "float32") - self.start_step
        warmup = float(max(self._warmup(), 1))
        total = float(max(self.total_steps, 1))
        rising = step / warmup
        falling = ops.maximum(0.0, (total - step) / max(total - warmup, 1.0))
        return self.peak_learning_rate * ops.where(step < warmup, rising, falling)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "total_steps": self.total_steps,
            "warmup_fraction": self.warmup_fraction,
            "warmup_steps": self.warmup_steps,
            "start_step": self.start_step,
        }
