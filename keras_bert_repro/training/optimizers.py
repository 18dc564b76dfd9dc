"""BERT's optimizers: AdamW (the paper) and LAMB (large-batch pre-training), with
decoupled weight decay that spares LayerNorm and biases, warm-up then linear decay,
global-norm clipping and optional gradient accumulation."""

import keras
from keras import ops

from keras_bert_repro.training.schedules import WarmupLinearDecay
from keras_bert_repro.training.strategy import ClipAfterCrossReplicaSum

# Variable names (Keras paths) that get no weight decay: LayerNorm's gamma/beta and biases.
NO_DECAY = ("gamma", "beta", "bias")


def _schedule(learning_rate, total_steps, warmup_fraction, warmup_steps):
    if isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        return learning_rate
    return WarmupLinearDecay(learning_rate, total_steps, warmup_fraction, warmup_steps)


def bert_adamw(learning_rate=5e-5, total_steps=None, warmup_fraction=0.1, warmup_steps=None,
               weight_decay=0.01, clipnorm=1.0, epsilon=1e-6, gradient_accumulation_steps=None):
    """AdamW as BERT fine-tunes and pre-trains: warm-up then linear decay, weight
    decay 0.01 except on LayerNorm and bias, global-norm clipping at 1.0.

    `learning_rate` is the peak rate of a `WarmupLinearDecay`, or any schedule.
    `gradient_accumulation_steps=N` updates the weights every N batches with the
    mean of their gradients (clipped after averaging). Schedules then still count
    batches, not updates: give `total_steps`/`warmup_steps` in batches.

    Example:
    >>> opt = bert_adamw(2e-5, total_steps=6315)  # 3 epochs of SST-2 at batch 32
    """
    return BertAdamW(
        learning_rate=_schedule(learning_rate, total_steps, warmup_fraction, warmup_steps),
        weight_decay=weight_decay, beta_1=0.9, beta_2=0.999, epsilon=epsilon,
        global_clipnorm=clipnorm, gradient_accumulation_steps=gradient_accumulation_steps)


class _LoadsUntrainedState:
    """A model saved before training holds only the step of its optimizer; loading it
    into the built optimizer that `compile_from_config` makes takes that step and
    keeps the fresh moments, instead of warning that the counts differ."""

    def load_own_variables(self, store):
        if self.built and list(store.keys()) == ["0"]:
            self.iterations.assign(store["0"])
            return
        super().load_own_variables(store)


class _EpsilonAfterBiasCorrection:
    """Adam's step `lr * m_hat / (sqrt(v_hat) + epsilon)` as torch.optim.AdamW, HF
    and the Adam paper's Algorithm 1 take it. Keras adds epsilon to `sqrt(v)` before
    the bias correction, which makes it `1 / sqrt(1 - beta_2^t)` times larger: ~30x at
    the first step, 3x at step 100, so parameters whose gradients are near epsilon
    moved slower early in fine-tuning than in HF's recipe."""

    def _step_scales(self, learning_rate, dtype):
        """`(alpha, epsilon)` of this step: `variable -= alpha * m / (sqrt(v) + epsilon)`
        is `lr * m_hat / (sqrt(v_hat) + self.epsilon)`."""
        step = ops.cast(self.iterations + 1, dtype)
        root = ops.sqrt(1 - ops.power(ops.cast(self.beta_2, dtype), step))
        alpha = ops.cast(learning_rate, dtype) * root / (
            1 - ops.power(ops.cast(self.beta_1, dtype), step))
        return alpha, self.epsilon * root

    def update_step(self, gradient, variable, learning_rate):
        gradient = ops.cast(gradient, variable.dtype)
        alpha, epsilon = self._step_scales(learning_rate, variable.dtype)
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2))
        if self.amsgrad:
            v_hat = self._velocity_hats[self._get_variable_index(variable)]
            self.assign(v_hat, ops.maximum(v_hat, v))
            v = v_hat
        self.assign_sub(variable, ops.divide(
            ops.multiply(m, alpha), ops.add(ops.sqrt(v), epsilon)))


def _torch_moments(optimizer, grads, trainable_variables):
    """`(variables, m, v)`: the torch tensors of `trainable_variables` and of their
    Adam moments, the moments updated in place with `grads` by `torch._foreach_*`
    (`m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g^2`). Call under `no_grad`."""
    import torch

    variables = [v.value for v in trainable_variables]
    index = optimizer._get_variable_index
    m = [optimizer._momentums[index(v)].value for v in trainable_variables]
    v2 = [optimizer._velocities[index(v)].value for v in trainable_variables]
    grads = [g.to(variables[0].dtype) for g in grads]
    torch._foreach_mul_(m, optimizer.beta_1)
    torch._foreach_add_(m, grads, alpha=1 - optimizer.beta_1)
    torch._foreach_mul_(v2, optimizer.beta_2)
    torch._foreach_addcmul_(v2, grads, grads, value=1 - optimizer.beta_2)
    return variables, m, v2


class _ForeachAdamOnTorch:
    """On the torch backend, Adam's update as one `torch._foreach_*` call per
    operation over all variables, as Keras does for `keras.optimizers.AdamW` itself
    but not for its subclasses (their generic path runs ~10 small ops and copies
    per variable: up to a third of a MiniLM training step on a busy CPU); its step
    sizes come from `_EpsilonAfterBiasCorrection._step_scales`."""

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        if keras.backend.backend() != "torch" or self.amsgrad:
            return super()._backend_update_step(grads, trainable_variables, learning_rate)
        import torch

        with torch.no_grad():
            variables, m, v2 = _torch_moments(self, grads, trainable_variables)
            alpha, epsilon = self._step_scales(learning_rate, variables[0].dtype)
            denominator = torch._foreach_sqrt(v2)
            torch._foreach_add_(denominator, epsilon)
            torch._foreach_addcdiv_(variables, torch._foreach_mul(m, -alpha), denominator)


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class BertAdamW(_LoadsUntrainedState, ClipAfterCrossReplicaSum, _ForeachAdamOnTorch,
                _EpsilonAfterBiasCorrection, keras.optimizers.AdamW):
    """`keras.optimizers.AdamW` whose decay exclusions (LayerNorm, biases) are part of
    its config, so a model reloaded from `.keras` keeps sparing them, whose clipping
    under a multi-replica TF strategy is the one-device update's, and whose step is
    torch.optim.AdamW's (epsilon after the bias correction)."""

    def __init__(self, exclude_from_weight_decay_names=NO_DECAY, **kwargs):
        super().__init__(**kwargs)
        self.exclude_from_weight_decay_names = tuple(exclude_from_weight_decay_names)
        self.exclude_from_weight_decay(var_names=list(self.exclude_from_weight_decay_names))

    def get_config(self):
        config = super().get_config()
        config["exclude_from_weight_decay_names"] = list(self.exclude_from_weight_decay_names)
        return config


class _ForeachLambOnTorch:
    """On the torch backend, `BertLamb.update_step` over all variables at once with
    `torch._foreach_*` calls (norms included), as `_ForeachAdamOnTorch` does for
    AdamW: a few kernel launches per step instead of ~15 per variable."""

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        if keras.backend.backend() != "torch":
            return super()._backend_update_step(grads, trainable_variables, learning_rate)
        import torch

        with torch.no_grad():
            variables, m, v2 = _torch_moments(self, grads, trainable_variables)
            dtype = variables[0].dtype
            step = ops.cast(self.iterations + 1, dtype)
            first = 1 - ops.power(ops.cast(self.beta_1, dtype), step)
            second = ops.sqrt(1 - ops.power(ops.cast(self.beta_2, dtype), step))
            # m_hat / (sqrt(v_hat) + epsilon)
            denominator = torch._foreach_div(torch._foreach_sqrt(v2), second)
            torch._foreach_add_(denominator, self.epsilon)
            update = torch._foreach_div(torch._foreach_div(m, first), denominator)
            adapted = [i for i, v in enumerate(trainable_variables) if self._use_weight_decay(v)]
            if adapted:
                weights = [variables[i] for i in adapted]
                steps = [update[i] for i in adapted]
                if self.weight_decay:
                    torch._foreach_add_(steps, weights, alpha=self.weight_decay)
                w_norm = torch.stack(torch._foreach_norm(weights))
                u_norm = torch.stack(torch._foreach_norm(steps))
                ratio = torch.where((w_norm > 0) & (u_norm > 0), w_norm / u_norm, 1.0)
                torch._foreach_mul_(steps, list(ratio.unbind()))
            rate = ops.cast(learning_rate, dtype)
            torch._foreach_sub_(variables, torch._foreach_mul(update, rate))


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class BertLamb(_LoadsUntrainedState, ClipAfterCrossReplicaSum, _ForeachLambOnTorch,
               keras.optimizers.Lamb):
    """LAMB as You et al. (2019) pre-train BERT: the weight decay joins the Adam
    step *inside* the layer-wise trust ratio, and variables excluded from decay
    (LayerNorm, biases) are also excluded from the trust ratio.

    `keras.optimizers.Lamb` differs on both: it applies decoupled decay outside
    the ratio and adapts every variable.

    Args:
        exclude_from_weight_decay_names: substrings of variable names that get
            neither weight decay nor layer adaptation.
        Other arguments as `keras.optimizers.Lamb`.

    Example:
    >>> opt = BertLamb(learning_rate=1e-3, weight_decay=0.01, epsilon=1e-6)
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.01,
                 exclude_from_weight_decay_names=NO_DECAY, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, **kwargs)
        self.exclude_from_weight_decay_names = tuple(exclude_from_weight_decay_names)
        self.exclude_from_weight_decay(var_names=list(self.exclude_from_weight_decay_names))

    def _apply_weight_decay(self, variables):
        """Weight decay is part of `update_step`'s direction, not a separate shrink."""

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        step = ops.cast(self.iterations + 1, variable.dtype)
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        self.assign(m, self.beta_1 * m + (1.0 - self.beta_1) * gradient)
        self.assign(v, self.beta_2 * v + (1.0 - self.beta_2) * ops.square(gradient))
        m_hat = m / (1.0 - ops.power(ops.cast(self.beta_1, variable.dtype), step))
        v_hat = v / (1.0 - ops.power(ops.cast(self.beta_2, variable.dtype), step))
        update = m_hat / (ops.sqrt(v_hat) + self.epsilon)
        if self._use_weight_decay(variable):
            if self.weight_decay:
                update = update + ops.cast(self.weight_decay, variable.dtype) * variable
            w_norm = ops.sqrt(ops.sum(ops.square(variable)))
            u_norm = ops.sqrt(ops.sum(ops.square(update)))
            ratio = ops.where(ops.logical_and(w_norm > 0, u_norm > 0), w_norm / u_norm, 1.0)
            update = ratio * update
        self.assign_sub(variable, lr * update)

    def get_config(self):
        config = super().get_config()
        config["exclude_from_weight_decay_names"] = list(self.exclude_from_weight_decay_names)
        return config


def bert_lamb(learning_rate=1e-3, total_steps=None, warmup_fraction=0.1, warmup_steps=None,
              weight_decay=0.01, clipnorm=1.0, epsilon=1e-6, gradient_accumulation_steps=None):
    """LAMB for large-batch pre-training (You et al., 2019: BERT in 76 minutes):
    the same warm-up/decay schedule, decay exclusions, clipping and accumulation
    as `bert_adamw`, with a per-variable trust ratio `||w|| / ||update||`.

    Example:
    >>> opt = bert_lamb(1.76e-3, total_steps=7038, warmup_steps=2000)
    """
    return BertLamb(
        learning_rate=_schedule(learning_rate, total_steps, warmup_fraction, warmup_steps),
        weight_decay=weight_decay, beta_1=0.9, beta_2=0.999, epsilon=epsilon,
        global_clipnorm=clipnorm, gradient_accumulation_steps=gradient_accumulation_steps)
