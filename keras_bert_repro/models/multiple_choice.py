"""BertMultipleChoice: pick one of several endings for a context (SWAG)."""

import keras
import tensorflow as tf

from keras_bert_repro.layers import bert_initializer
from keras_bert_repro.models.backbone import INPUT_NAMES
from keras_bert_repro.models.dtype_maps import layer_dtype
from keras_bert_repro.models.example_checks import check_class_ids, check_texts
from keras_bert_repro.models.task import BertTask
from keras_bert_repro.text import BertMultipleChoicePreprocessor


class _FoldChoices(keras.layers.Layer):
    """`[batch, choices, length]` -> `[batch * choices, length]`, for the backbone."""

    def call(self, x):
        return keras.ops.reshape(x, (-1, keras.ops.shape(x)[-1]))

    def compute_output_shape(self, input_shape):
        return (None, input_shape[-1])


class _UnfoldChoices(keras.layers.Layer):
    """Scores `[batch * choices, 1]` -> `[batch, choices]`, the choices counted on
    the inputs themselves, so no row can land in another example."""

    def call(self, scores, token_ids):
        return keras.ops.reshape(scores, (-1, keras.ops.shape(token_ids)[1]))

    def compute_output_shape(self, scores_shape, token_ids_shape):
        return (token_ids_shape[0], token_ids_shape[1])


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class BertMultipleChoice(BertTask):
    """The paper's SWAG model: the backbone scores each `[CLS] context [SEP] ending`
    (dropout, then a dense layer to one score over its pooled output), and a
    softmax across the choices picks the ending.

    Inputs are backbone inputs of shape `[batch, num_choices, length]`, or with a
    `preprocessor` raw text `(contexts, endings)`: a list of `batch` strings and a
    list of `batch` lists of `num_choices` strings. Outputs are logits
    `[batch, num_choices]`; the default loss is sparse cross-entropy over them.

    Args:
        backbone: a `BertBackbone`.
        num_choices: endings per example (4 for SWAG).
        preprocessor: a `BertMultipleChoicePreprocessor`.
        dropout: dropout on the pooled output (0.1 in the paper).

    Example:
    >>> model = BertMultipleChoice.from_preset("/path/to/checkpoint",  # doctest: +SKIP
    ...                                        sequence_length=80)
    >>> contexts = ["A woman walks to the piano."]
    >>> endings = [["She sits and plays.", "She eats it.", "She flies off.", "She is a piano."]]
    >>> model.fit((contexts, endings), [0], batch_size=16, epochs=3)  # doctest: +SKIP
    >>> model.predict((contexts, endings)).shape  # doctest: +SKIP
    (1, 4)
    """

    preprocessor_class = BertMultipleChoicePreprocessor
    checkpoint_task = "multiple_choice"
    head_layer = "choice_score"
    preset_positional = ("num_choices", "sequence_length", "pad_to_multiple_of")

    def __init__(self, backbone, num_choices=4, preprocessor=None, dropout=0.1, **kwargs):
        dtype = kwargs.pop("dtype", None)  # a quantized task's policy map
        # === Layers ===
        fold = _FoldChoices(name="fold_choices")
        head_dropout = keras.layers.Dropout(dropout, dtype=backbone.dtype_policy,
                                            name="multiple_choice_dropout")
        # Scores in float32 even under mixed precision, for a stable loss.
        score_layer = keras.layers.Dense(1, kernel_initializer=bert_initializer(),
                                         dtype=layer_dtype(dtype, "float32"), name="choice_score")
        unfold = _UnfoldChoices(name="unfold_choices")
        # === Functional model ===
        inputs = {name: keras.Input(shape=(num_choices, None), dtype="int32", name=name)
                  for name in INPUT_NAMES}
        pooled = backbone.pool({name: fold(x) for name, x in inputs.items()})
        outputs = unfold(score_layer(head_dropout(pooled)), inputs["token_ids"])
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        # === Config ===
        self._init_task(backbone, preprocessor)
        self.num_choices = int(num_choices)
        self.dropout = float(dropout)
        self._compile_by_default()

    def _wants_text(self, x):
        if isinstance(x, tuple) and len(x) == 2 and not isinstance(x[1], tf.data.Dataset):
            self._check_endings(x[1])
            if isinstance(x[1], list) and x[1] and isinstance(x[1][0], (list, tuple)):
                # `is_text` looks at the first level only: show it one row of endings.
                return super()._wants_text((x[0], list(x[1][0])))
        return super()._wants_text(x)

    def _check_endings(self, endings):
        n = self.num_choices
        if isinstance(endings, list):
            for index, row in enumerate(endings):
                if isinstance(row, (str, bytes)) or len(row) != n:
                    got = "a string" if isinstance(row, (str, bytes)) else f"{len(row)} endings"
                    raise ValueError(f"Example {index} has {got}; this model takes a list of "
                                     f"num_choices={n} endings per example.")
            return
        shape = getattr(endings, "shape", None)
        if shape is not None and (len(shape) != 2 or shape[1] != n):
            raise ValueError(f"endings must be [batch, num_choices={n}] strings, got shape "
                             f"{tuple(shape)}.")

    def _count_examples(self, x):
        if not isinstance(x, tuple) or len(x) != 2:
            raise TypeError("BertMultipleChoice takes (contexts, endings): a list of texts and "
                            f"a list of num_choices={self.num_choices} endings per text.")
        count = check_texts(x[0], "x[0] (contexts)")
        if len(x[1]) != count:
            raise ValueError(f"{count} contexts but {len(x[1])} rows of endings.")
        for i, row in enumerate(x[1]):
            check_texts(list(row), f"x[1][{i}] (endings)")
        return count

    def _check_labels(self, y, count):
        check_class_ids(y, count, self.num_choices)

    def default_loss(self):
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def default_metrics(self):
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    def get_config(self):
        return {**self._task_config(), "num_choices": self.num_choices,
                "dropout": self.dropout}
