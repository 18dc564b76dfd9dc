"""BertQuestionAnswerer: span question answering (SQuAD v1.1 and v2.0)."""

import numbers

import keras

from keras_bert_repro import presets
from keras_bert_repro.layers import MaskedBiLSTM, bert_initializer
from keras_bert_repro.models.dtype_maps import default_policy, layer_dtype
from keras_bert_repro.models.task import BertTask, one_example_as_batch
from keras_bert_repro.text import BertSquadPreprocessor, best_answers


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class BertQuestionAnswerer(BertTask):
    """A start and an end vector over every token's output, as in the paper.

    The model maps backbone inputs to `[batch, 2, sequence_length]` logits
    (start, end); the loss is the mean of the start and end cross-entropies,
    as `run_squad.py`. With a `BertSquadPreprocessor`, `fit`, `evaluate` and
    `predict` take `(questions, contexts)`: long contexts are cut into
    overlapping windows, and `predict` returns answer strings taken verbatim
    from the contexts.

    Args:
        backbone: a `BertBackbone`.
        preprocessor: a `BertSquadPreprocessor`.
        version_2_with_negative: SQuAD v2.0, where a question may have no answer
            in its context; `predict` then returns "" for those.
        null_score_diff_threshold: v2.0: predict "" when the null score beats
            the best span's by more than this.
        n_best_size: best starts and ends per window paired into candidates.
        max_answer_length: the longest answer, in tokens.
        bilstm_units: if given, a randomly initialised bidirectional LSTM of
            this many units per direction runs over the backbone's output
            (padding masked) before the span layer: the paper's left-to-right
            ablation gives its LTR model one for SQuAD (Table 5). Saved in this
            library's layout and `.keras` files only.

    Example:
    >>> qa = BertQuestionAnswerer.from_preset("/path/to/checkpoint")  # doctest: +SKIP
    >>> qa.fit((questions, contexts), answers, batch_size=32, epochs=2)  # doctest: +SKIP
    >>> qa.predict((["Who won?"], ["The Broncos won the game."]))  # doctest: +SKIP
    ['The Broncos']
    """

    preprocessor_class = BertSquadPreprocessor
    checkpoint_task = "question_answering"
    head_layer = "span_logits"
    head_weights = presets.SQUAD_WEIGHTS
    # run_squad.py's defaults.
    preprocessor_defaults = {"sequence_length": 384, "doc_stride": 128, "max_query_length": 64}
    preset_positional = tuple(preprocessor_defaults)

    def __init__(self, backbone, preprocessor=None, version_2_with_negative=False,
                 null_score_diff_threshold=0.0, n_best_size=20, max_answer_length=30,
                 bilstm_units=None, **kwargs):
        dtype = kwargs.pop("dtype", None)  # a quantized task's policy map
        # === Layers ===
        # Logits in float32 even under mixed precision, for a stable loss.
        span_layer = keras.layers.Dense(2, kernel_initializer=bert_initializer(),
                                        dtype=layer_dtype(dtype, "float32"), name="span_logits")
        to_start_end = keras.layers.Permute((2, 1), dtype="float32", name="start_end_logits")
        bilstm = MaskedBiLSTM(
            bilstm_units, dtype=layer_dtype(dtype, default_policy(backbone.dtype_policy)),
            name="span_bilstm") if bilstm_units else None
        # === Functional model ===
        inputs = backbone.input
        sequence = backbone(inputs)["sequence_output"]
        if bilstm is not None:
            sequence = bilstm(sequence, inputs["padding_mask"])
        outputs = to_start_end(span_layer(sequence))
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        # === Config ===
        self._init_task(backbone, preprocessor)
        self.version_2_with_negative = bool(version_2_with_negative)
        self.null_score_diff_threshold = float(null_score_diff_threshold)
        self.n_best_size = int(n_best_size)
        self.max_answer_length = int(max_answer_length)
        self.bilstm_units = int(bilstm_units) if bilstm_units else None
        self._compile_by_default()

    def default_loss(self):
        # Labels [batch, 2] against logits [batch, 2, seq]: the mean over both
        # is (start loss + end loss) / 2.
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def default_metrics(self):
        return [keras.metrics.SparseCategoricalAccuracy(name="position_accuracy")]

    # === Raw (question, context) -> windows ===
    def features(self, x, answers=None):
        """`(questions, contexts)` -> `SquadFeatures` (the preprocessor's windows)."""
        if self.preprocessor is None:
            raise ValueError("BertQuestionAnswerer has no preprocessor: pass token ids, or build "
                             "it with from_preset / a BertSquadPreprocessor to use raw text.")
        return self.preprocessor(x, answers=answers)

    def _check_labels(self, y, count):
        """One answer per question: `None` (no answer) or `{"text", "answer_start"}`
        with a character offset inside its context."""
        if len(y) != count:
            raise ValueError(f"{count} questions but {len(y)} answers in y.")
        for i, answer in enumerate(y):
            if answer is None:
                continue
            if not isinstance(answer, dict) or not isinstance(answer.get("text"), str) \
                    or "answer_start" not in answer:
                raise TypeError(f"y[{i}] is {answer!r}; an answer is None or "
                                '{"text": str, "answer_start": int}.')
            start = answer["answer_start"]
            if not isinstance(start, numbers.Integral) or isinstance(start, bool) or start < 0:
                raise ValueError(f"y[{i}]['answer_start'] is {start!r}; it is a character "
                                 "offset into the context (an int, 0 or more).")

    def fit(self, x=None, y=None, batch_size=None, epochs=1, validation_data=None, **kwargs):
        """`x=(questions, contexts)` with `y` answers (`{"text", "answer_start"}`
        or `None` for no answer), or backbone inputs with `[n, 2]` positions."""
        if self._wants_text(x):
            self._check_examples(x, y)
            features = self.features(x, y)
            x, y, batch_size = features.inputs, features.positions, batch_size or 32
        if validation_data is not None and self._wants_text(validation_data[0]):
            features = self.features(*validation_data)
            validation_data = (features.inputs, features.positions)
        return super().fit(x=x, y=y, batch_size=batch_size, epochs=epochs,
                           validation_data=validation_data, **kwargs)

    def evaluate(self, x=None, y=None, batch_size=None, **kwargs):
        if self._wants_text(x):
            self._check_examples(x, y, call="evaluate")
            features = self.features(x, y)
            x, y, batch_size = features.inputs, features.positions, batch_size or 64
        return super().evaluate(x=x, y=y, batch_size=batch_size, **kwargs)

    def predict(self, x, batch_size=None, return_details=False, **kwargs):
        """`(questions, contexts)` -> one answer string per question (with
        `return_details`, dicts with character spans, scores and the n-best);
        backbone inputs -> `[windows, 2, seq]` logits. One `(question, context)`
        pair of strings is a batch of one."""
        x = one_example_as_batch(x)
        if not self._wants_text(x):
            return super().predict(x, batch_size=batch_size, **kwargs)
        self._check_examples(x, call="predict")
        features = self.features(x)
        logits = super().predict(features.inputs, batch_size=batch_size or 64, **kwargs)
        answers = best_answers(
            features, logits, n_best_size=self.n_best_size,
            max_answer_length=self.max_answer_length,
            version_2_with_negative=self.version_2_with_negative,
            null_score_diff_threshold=self.null_score_diff_threshold)
        return answers if return_details else [a["text"] for a in answers]

    # === Config ===
    def get_config(self):
        return {**self._task_config(), "version_2_with_negative": self.version_2_with_negative,
                "null_score_diff_threshold": self.null_score_diff_threshold,
                "n_best_size": self.n_best_size, "max_answer_length": self.max_answer_length,
                "bilstm_units": self.bilstm_units}
