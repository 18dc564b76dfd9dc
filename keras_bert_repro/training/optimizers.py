"""The paper's optimizer: Adam with decoupled weight decay, not on LayerNorm or bias."""

import keras

from keras_bert_repro.training.schedules import WarmupLinearDecay

# Variable names (Keras paths) that get no weight decay: LayerNorm's gamma/beta and biases.
NO_DECAY = ("gamma", "beta", "bias")


def bert_adamw(learning_rate=5e-5, total_steps=None, warmup_fraction=0.1, warmup_steps=None,
               weight_decay=0.01, clipnorm=1.0, epsilon=1e-6):
    """AdamW as BERT fine-tunes and pre-trains: warm-up then linear decay, weight
    decay 0.01 except on LayerNorm and bias, global-norm clipping at 1.0.

    `learning_rate` is the peak rate of a `WarmupLinearDecay`, or any schedule.

    Example:
    >>> opt = bert_adamw(2e-5, total_steps=6315)  # 3 epochs of SST-2 at batch 32
    """
    if not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        learning_rate = WarmupLinearDecay(learning_rate, total_steps, warmup_fraction, warmup_steps)
    optimizer = keras.optimizers.AdamW(
        learning_rate=learning_rate, weight_decay=weight_decay, beta_1=0.9, beta_2=0.999,
        epsilon=epsilon, global_clipnorm=clipnorm)
    optimizer.exclude_from_weight_decay(var_names=list(NO_DECAY))
    return optimizer
