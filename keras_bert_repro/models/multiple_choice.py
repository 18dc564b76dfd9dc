"""BertMultipleChoice: pick one of several endings for a context (SWAG), and its
preprocessor, which packs `[CLS] context [SEP] ending [SEP]` once per choice."""

import keras
import tensorflow as tf

from keras_bert_repro.layers import bert_initializer
from keras_bert_repro.models.backbone import INPUT_NAMES, BertBackbone
from keras_bert_repro.models.task import BertTask
from keras_bert_repro.text.packing import pack_segments
from keras_bert_repro.text.preprocessor import BertPreprocessor
from keras_bert_repro.text.tf_layer import to_string_tensor


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class BertMultipleChoicePreprocessor(BertPreprocessor):
    """`(contexts, endings)` -> backbone inputs `[batch, num_choices, length]`.

    `contexts` are `[batch]` strings and `endings` `[batch, num_choices]` strings
    (or one context and its `[num_choices]` endings). Each choice is packed as the
    sentence pair `[CLS] context [SEP] ending [SEP]`, truncated like one (from the
    end of the longer segment). With `pad_to_multiple_of`, a batch is padded to
    its longest choice rounded up. Runs eagerly on any backend and in `tf.data`.

    Example:
    >>> pre = BertMultipleChoicePreprocessor.from_preset("/path/to/model",  # doctest: +SKIP
    ...                                                  sequence_length=80)
    >>> pre((["A man sits down."], [["He eats.", "He flies.", "He sleeps.", "He runs."]]))[
    ...     "token_ids"].shape  # doctest: +SKIP
    (1, 4, 80)
    """

    def eager_inputs(self, x):
        return None  # eager calls run op by op, so bad shapes get `call`'s errors

    def call(self, x):
        if not (isinstance(x, (tuple, list)) and len(x) == 2):
            raise ValueError("BertMultipleChoicePreprocessor takes a pair (contexts, endings): "
                             "[batch] strings and [batch, num_choices] strings.")
        contexts = to_string_tensor(x[0], name="contexts")
        endings = to_string_tensor(x[1], name="endings")
        scalar = contexts.shape.rank == 0
        if scalar:
            contexts, endings = contexts[None], endings[None]
        if isinstance(endings, tf.RaggedTensor) or contexts.shape.rank != 1 \
                or endings.shape.rank != 2:
            raise ValueError(
                "Multiple choice needs contexts [batch] and endings [batch, num_choices] with "
                f"the same number of endings per example; got contexts of rank "
                f"{contexts.shape.rank} and endings of shape {endings.shape}.")
        batch = tf.shape(contexts)[0]
        num_choices = endings.shape[1] if endings.shape[1] is not None else tf.shape(endings)[1]
        with tf.control_dependencies([tf.debugging.assert_equal(
                tf.shape(endings)[0], batch,
                message="contexts and endings hold different numbers of examples")]):
            flat_endings = tf.reshape(endings, [-1])
        # Tokenize each context once, then repeat it for each of its choices.
        context_ids = tf.gather(self.tokenizer.call(contexts),
                                tf.repeat(tf.range(batch), num_choices))
        packed = pack_segments([context_ids, self.tokenizer.call(flat_endings)],
                               self.sequence_length, self.tokenizer.cls_token_id,
                               self.tokenizer.sep_token_id, self.tokenizer.pad_token_id,
                               pad_to=self.pad_to_multiple_of)
        out = {k: tf.reshape(v, tf.stack([batch, num_choices, tf.shape(v)[1]]))
               for k, v in packed.items()}
        if not scalar and isinstance(num_choices, int):
            out = {k: tf.ensure_shape(v, [None, num_choices, None]) for k, v in out.items()}
        return {k: v[0] for k, v in out.items()} if scalar else out


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

    def __init__(self, backbone, num_choices=4, preprocessor=None, dropout=0.1, **kwargs):
        # === Layers ===
        fold = _FoldChoices(name="fold_choices")
        head_dropout = keras.layers.Dropout(dropout, dtype=backbone.dtype_policy,
                                            name="multiple_choice_dropout")
        # Scores in float32 even under mixed precision, for a stable loss.
        score_layer = keras.layers.Dense(1, kernel_initializer=bert_initializer(),
                                         dtype="float32", name="choice_score")
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
        self.compile()

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

    def default_loss(self):
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def default_metrics(self):
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    def get_config(self):
        return {**self._task_config(), "num_choices": self.num_choices,
                "dropout": self.dropout}

    @classmethod
    def from_preset(cls, preset, num_choices=4, sequence_length=128, pad_to_multiple_of=16,
                    **kwargs):
        """Backbone weights and tokenizer from `preset`, a fresh scoring head.

        `sequence_length` bounds each packed choice; the preprocessor pads a batch
        to its longest choice rounded up to `pad_to_multiple_of` (None: always to
        `sequence_length`).
        """
        backbone_kwargs = {k: kwargs.pop(k) for k in ("dtype",) if k in kwargs}
        backbone = BertBackbone.from_preset(preset, **backbone_kwargs)
        if sequence_length > backbone.max_sequence_length:
            raise ValueError(f"sequence_length={sequence_length} exceeds the model's position "
                             f"table ({backbone.max_sequence_length}).")
        preprocessor = BertMultipleChoicePreprocessor.from_preset(
            preset, sequence_length=sequence_length, pad_to_multiple_of=pad_to_multiple_of)
        return cls(backbone, num_choices, preprocessor=preprocessor, **kwargs)
