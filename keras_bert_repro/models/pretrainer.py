"""BertPretrainer: the paper's pre-training model, masked LM plus next-sentence prediction."""

import keras
import tensorflow as tf

from keras_bert_repro import presets
from keras_bert_repro.layers import bert_initializer
from keras_bert_repro.layers.heads import MaskedLMHead
from keras_bert_repro.models.backbone import INPUT_NAMES
from keras_bert_repro.models.dtype_maps import default_policy, layer_dtype
from keras_bert_repro.models.task import BertTask, is_text
from keras_bert_repro.models.weight_assignment import (
    assign_head_weights, head_variables, read_variables)
from keras_bert_repro.text import BertPretrainingPreprocessor
from keras_bert_repro.training import bert_adamw

OBJECTIVES = ("mlm_nsp", "mlm", "ltr")
# Paper A.2: Adam at 1e-4, warm-up over the first 10,000 of 1,000,000 steps, linear decay.
PRETRAINING_LEARNING_RATE = 1e-4
PRETRAINING_WARMUP_FRACTION = 0.01


def _is_masked_batch(spec):
    """Whether dataset elements are already `(x, y, sample_weight)` with `mask_positions`."""
    return isinstance(spec, tuple) and isinstance(spec[0], dict) and "mask_positions" in spec[0]


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class BertPretrainer(BertTask):
    """Masked LM (and next-sentence prediction) over a `BertBackbone`.

    Inputs are the backbone's plus `mask_positions` `[batch, P]`. Outputs are a
    dict of float32 logits: `"mlm"` `[batch, P, vocab]` at the masked positions
    (decoder tied to the token embedding) and, for `"mlm_nsp"`, `"nsp"`
    `[batch, 2]` over the pooled output (class 1: segment B is a random one).
    Training takes the `(x, y, sample_weight)` batches of
    `BertPretrainingPreprocessor`; the MLM loss is the mean over real
    predictions (weight 1), not over all `P` slots.

    Args:
        backbone: a `BertBackbone`.
        objective: `"mlm_nsp"` (the paper), `"mlm"` (no NSP ablation) or `"ltr"`
            (left-to-right LM ablation: sets `backbone.causal = True`, which the
            paper keeps for fine-tuning too; positions 0..P-1 predict the next token).
        preprocessor: a `BertPretrainingPreprocessor`, so `fit` takes datasets of
            raw text pairs or parsed instances.

    `from_preset` loads the pre-training heads too where the checkpoint has them
    (Google's, HF `BertForPreTraining`); its preprocessor arguments are
    `sequence_length` (128), `max_predictions_per_seq` (20) and any other of
    `BertPretrainingPreprocessor` (e.g. `whole_word_masking=True`).

    Example:
    >>> model = BertPretrainer.from_preset("/path/to/uncased_L-12_H-768_A-12")  # doctest: +SKIP
    >>> model.fit(pretraining_dataset("gs://bucket/*.tfrecord").ragged_batch(256),
    ...           steps_per_epoch=1000, epochs=10)  # doctest: +SKIP
    >>> bb = BertBackbone(vocabulary_size=30522, num_layers=12, num_heads=12,
    ...                   hidden_dim=768, intermediate_dim=3072)  # doctest: +SKIP
    >>> model = BertPretrainer(bb, objective="mlm")  # doctest: +SKIP
    """

    preprocessor_class = BertPretrainingPreprocessor
    preprocessor_defaults = {"sequence_length": 128, "max_predictions_per_seq": 20}
    preset_positional = ("objective", "sequence_length", "max_predictions_per_seq")

    def __init__(self, backbone, objective="mlm_nsp", preprocessor=None, **kwargs):
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}.")
        if objective == "ltr":
            backbone.causal = True
        dtype = kwargs.pop("dtype", None)  # a quantized task's policy map
        # === Layers ===
        mlm_head = MaskedLMHead(
            backbone.get_layer("token_embedding"), activation=backbone.activation,
            dtype=layer_dtype(dtype, default_policy(backbone.dtype_policy)), name="mlm_head")
        # Google's [2, hidden] `cls/seq_relationship/output_weights`, transposed.
        nsp_head = keras.layers.Dense(
            2, kernel_initializer=bert_initializer(), dtype=layer_dtype(dtype, "float32"),
            name="nsp_head") if objective == "mlm_nsp" else None
        # === Functional model ===
        inputs = {**backbone.input,
                  "mask_positions": keras.Input(shape=(None,), dtype="int32",
                                                name="mask_positions")}
        features = backbone({name: inputs[name] for name in INPUT_NAMES})
        outputs = {"mlm": mlm_head(features["sequence_output"],
                                   mask_positions=inputs["mask_positions"])}
        if nsp_head is not None:
            outputs["nsp"] = nsp_head(features["pooled_output"])
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        # === Config ===
        self._init_task(backbone, preprocessor)
        self.objective = objective
        self._compile_by_default()

    # === Training API ===
    def compile(self, optimizer="auto", loss="auto", metrics="auto", weighted_metrics="auto",
                **kwargs):
        """`"auto"` is the paper's pre-training recipe: AdamW at peak 1e-4 (weight
        decay 0.01, none on LayerNorm and bias, clipping 1.0), warm-up over 1% of
        the steps then linear decay; loss = weighted-mean MLM cross-entropy + mean
        NSP cross-entropy; accuracies weighted by `sample_weight`."""
        if optimizer == "auto":
            optimizer = bert_adamw(PRETRAINING_LEARNING_RATE,
                                   warmup_fraction=PRETRAINING_WARMUP_FRACTION)
        if weighted_metrics == "auto":
            weighted_metrics = {name: [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
                                for name in self._output_keys()}
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics,
                        weighted_metrics=weighted_metrics, **kwargs)

    def default_loss(self):
        # sum(weight * loss) / sum(weight): unused prediction slots (weight 0) do not
        # dilute the MLM loss, as in Google's run_pretraining.py.
        return {name: keras.losses.SparseCategoricalCrossentropy(
                    from_logits=True, reduction="mean_with_sample_weight")
                for name in self._output_keys()}

    def _output_keys(self):
        return ("mlm", "nsp") if self.objective == "mlm_nsp" else ("mlm",)

    def _wants_text(self, x):
        if is_text(x) or (isinstance(x, tuple) and x and is_text(x[0])):
            raise ValueError(
                "BertPretrainer takes a tf.data.Dataset of raw (text_a, text_b, "
                "is_random_next) batches or parsed instances (with a preprocessor), or "
                "masked batches; got in-memory text.")
        raw = isinstance(x, tf.data.Dataset) and not _is_masked_batch(x.element_spec)
        if raw and self.preprocessor is None:
            raise ValueError("BertPretrainer has no preprocessor: pass masked (x, y, "
                             "sample_weight) batches, or give it a BertPretrainingPreprocessor.")
        return raw

    def _map_preprocessor(self, dataset):
        # Each element (raw text pairs or instance dicts, batched) is one masked batch.
        return self.preprocessor.dataset(dataset)

    # === Config and presets ===
    def get_config(self):
        return {**self._task_config(), "objective": self.objective}

    @property
    def checkpoint_task(self):
        """HF's `BertForPreTraining` (MLM + NSP) or `BertForMaskedLM` (MLM only)."""
        return "pretraining" if self.objective == "mlm_nsp" else "masked_lm"

    def heads_in(self, format):
        """keras-hub's layout gets the encoder alone (no BERT masked-LM preset there)."""
        return format != "keras_hub"

    def head_arrays(self):
        """The MLM (and NSP) heads under Google's `cls/*` names."""
        return read_variables(self._head_variables())

    def _head_variables(self):
        nsp_head = self.get_layer("nsp_head") if self.objective == "mlm_nsp" else None
        return head_variables(self.get_layer("mlm_head"), nsp_head)

    @classmethod
    def _split_preset_kwargs(cls, kwargs):
        """`objective` goes to both, the Keras model's arguments (`name`, `compile`,
        ...) and `preprocessor=` to the task; every other argument to the
        preprocessor (e.g. `whole_word_masking=True`, `seed`)."""
        objective = kwargs.get("objective", "mlm_nsp")
        task_keys = (*cls.MODEL_ARGUMENTS, "preprocessor")
        task = {k: v for k, v in kwargs.items() if k in task_keys}
        preprocessor = {**cls.preprocessor_defaults, "objective": objective,
                        **{k: v for k, v in kwargs.items() if k not in task_keys}}
        return {**task, "objective": objective}, preprocessor

    def load_preset_heads(self, path, head=None):
        """The pre-training heads, when the checkpoint has them: Google's TF1
        checkpoints (`cls/predictions/*`, `cls/seq_relationship/*`) and HF
        `BertForPreTraining` directories (`cls.*`); other layouts start them fresh.
        (`head`, a fine-tuning head, has no place in a pre-trainer.)"""
        arrays, source = presets.read_head_weights(path)
        assign_head_weights(self._head_variables(), arrays, source)
