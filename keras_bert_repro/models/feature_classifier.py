"""BertFeatureClassifier: the paper's feature-based use (5.3) — a frozen BERT whose
hidden layers feed a small trained head."""

import keras

from keras_bert_repro.layers import bert_initializer
from keras_bert_repro.models.classifier import (
    check_classification_labels, classification_loss, classification_metrics)
from keras_bert_repro.models.dtype_maps import layer_dtype
from keras_bert_repro.models.input_checks import check_backbone_inputs
from keras_bert_repro.models.task import BertTask
from keras_bert_repro.text import BertPreprocessor
from keras_bert_repro.training import bert_adamw

# Only a fresh linear head trains, so it takes a rate far above fine-tuning's 3e-5.
DEFAULT_HEAD_LEARNING_RATE = 1e-3


def freeze(backbone, feature_layers):
    """Checks `feature_layers` against the backbone's hidden states and freezes it.

    Each layer is frozen, not just the backbone: one rebuilt from a config with
    `trainable=False` holds trainable layers, and on TensorFlow setting the flag
    to the value it already has does not reach them.
    """
    depth = backbone.num_layers + 1
    if not feature_layers or any(not -depth <= i < depth for i in feature_layers):
        raise ValueError(f"feature_layers {feature_layers} must be non-empty indices into "
                         f"the backbone's {depth} hidden states (-{depth} to {depth - 1}).")
    for layer in backbone.layers:
        layer.trainable = False
    backbone.trainable = False


class HeadOnlyCompile:
    """For tasks whose backbone is frozen: `compile("auto")` is the paper's AdamW
    recipe at peak rate 1e-3, since only a fresh head trains."""

    def compile(self, optimizer="auto", **kwargs):
        if optimizer == "auto":
            optimizer = bert_adamw(DEFAULT_HEAD_LEARNING_RATE)
        super().compile(optimizer=optimizer, **kwargs)


class FrozenFeatures(keras.layers.Layer):
    """The backbone's chosen hidden layers, always in inference mode.

    A frozen layer in Keras 3 still runs dropout when the model trains; the
    paper's features are fixed activations, so the backbone is called with
    `training=False` whatever the caller's mode.
    """

    def __init__(self, backbone, layers, combine, **kwargs):
        super().__init__(**kwargs)
        self.extractor = backbone.feature_extractor(layers, combine)
        self._input_limits = (backbone.vocabulary_size, backbone.num_segments,
                              backbone.max_sequence_length)

    def call(self, inputs):
        check_backbone_inputs(inputs, *self._input_limits)
        return self.extractor(inputs, training=False)

    def compute_output_spec(self, inputs):
        return self.extractor.compute_output_spec(inputs)


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class BertFeatureClassifier(HeadOnlyCompile, BertTask):
    """Sentence(-pair) classification on frozen BERT features (paper, section 5.3).

    The backbone is frozen (`trainable=False`, run without dropout); the hidden
    states of `feature_layers` are combined (concatenated by default: the last
    four gave CoNLL-2003 dev F1 96.1 in the paper, against 96.4 fine-tuned),
    pooled to one vector per text, and dropout plus one dense layer over it is
    the only part that trains. (The paper's NER head was a BiLSTM over every
    token; for one label per text a linear head over a pooled vector is the
    simple analogue.)

    Args:
        backbone: a `BertBackbone`; this model sets its `trainable` to False.
        num_classes: output classes; `1` makes it a regressor with MSE loss.
        feature_layers: indices into the `num_layers + 1` hidden states
            (0: embeddings, -1: last block).
        combine: `"concat"` or `"sum"` of those layers.
        pooling: `"mean"` over the real tokens, or `"cls"`, the `[CLS]`
            position as fine-tuning uses. Mean suits a frozen encoder better: its
            `[CLS]` was never trained to gather the sentence for the task (SST-2
            dev with MiniLM-L6, 2,048 training texts: 79% mean, 70% `[CLS]`).
        preprocessor: a `BertPreprocessor`, so `fit`/`predict` take raw text.
        dropout: dropout on the features.
        text_pairs: whether it classifies text pairs (set by `fit` on raw text).

    Example:
    >>> clf = BertFeatureClassifier.from_preset("/path/to/checkpoint",  # doctest: +SKIP
    ...                                         num_classes=2)
    >>> clf.fit(["great film", "dull plot"], [1, 0], epochs=3)  # doctest: +SKIP
    """

    preprocessor_class = BertPreprocessor
    records_text_pairs = True

    def __init__(self, backbone, num_classes, feature_layers=(-4, -3, -2, -1),
                 combine="concat", pooling="mean", preprocessor=None, dropout=0.1, text_pairs=None,
                 **kwargs):
        if combine not in ("concat", "sum"):
            raise ValueError(f"combine must be 'concat' or 'sum', got {combine!r}.")
        if pooling not in ("cls", "mean"):
            raise ValueError(f"pooling must be 'cls' or 'mean', got {pooling!r}.")
        feature_layers = tuple(int(i) for i in feature_layers)
        freeze(backbone, feature_layers)
        dtype = kwargs.pop("dtype", None)  # a quantized task's policy map
        # === Layers ===
        features = FrozenFeatures(backbone, feature_layers, combine, name="features")
        head_dropout = keras.layers.Dropout(dropout, dtype=backbone.dtype_policy,
                                            name="classifier_dropout")
        logits_layer = keras.layers.Dense(num_classes, kernel_initializer=bert_initializer(),
                                          dtype=layer_dtype(dtype, "float32"), name="logits")
        # === Functional model ===
        inputs = backbone.input
        token_features = features(inputs)
        if pooling == "cls":
            pooled = token_features[:, 0, :]
        else:
            mask = keras.ops.cast(inputs["padding_mask"], token_features.dtype)[:, :, None]
            pooled = keras.ops.sum(token_features * mask, axis=1) / keras.ops.maximum(
                keras.ops.sum(mask, axis=1), 1.0)
        outputs = logits_layer(head_dropout(pooled))
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        # === Config ===
        self._init_task(backbone, preprocessor, text_pairs)
        self.features = features
        self.num_classes = int(num_classes)
        self.feature_layers = feature_layers
        self.combine = combine
        self.pooling = pooling
        self.dropout = float(dropout)
        self._compile_by_default()

    def _check_labels(self, y, count):
        check_classification_labels(y, count, self.num_classes)

    def default_loss(self):
        return classification_loss(self.num_classes)

    def default_metrics(self):
        return classification_metrics(self.num_classes)

    def get_config(self):
        return {**self._task_config(), "num_classes": self.num_classes,
                "feature_layers": list(self.feature_layers), "combine": self.combine,
                "pooling": self.pooling, "dropout": self.dropout}
