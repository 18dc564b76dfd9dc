"""BertClassifier: sentence and sentence-pair classification (and regression)."""

import keras

from keras_bert_repro.layers import bert_initializer
from keras_bert_repro.models.dtype_maps import layer_dtype
from keras_bert_repro.models.example_checks import check_class_ids, check_targets
from keras_bert_repro.models.task import BertTask
from keras_bert_repro.text import BertPreprocessor


def classification_loss(num_classes):
    """Cross-entropy on logits, or MSE when `num_classes == 1` (regression)."""
    if num_classes == 1:
        return keras.losses.MeanSquaredError()
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def check_classification_labels(y, count, num_classes):
    """Class ids in [0, num_classes), or finite targets when `num_classes == 1`."""
    if num_classes == 1:
        check_targets(y, count)
    else:
        check_class_ids(y, count, num_classes)


def classification_metrics(num_classes):
    if num_classes == 1:
        return [keras.metrics.MeanAbsoluteError(name="mae")]
    return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class BertClassifier(BertTask):
    """Dropout, then one dense layer over the pooled `[CLS]` output, as in the paper.

    Args:
        backbone: a `BertBackbone`.
        num_classes: output classes; `1` makes it a regressor (STS-B) with MSE loss.
        preprocessor: a `BertPreprocessor`, so `fit`/`predict` take raw text
            (a list of strings, or a tuple of two lists for pairs).
        dropout: dropout on the pooled output (0.1 in the paper).
        text_pairs: whether it classifies text pairs; `fit` on raw text sets it
            (None until then), and `export_saved_model` serves that signature.

    Example:
    >>> clf = BertClassifier.from_preset("/path/to/checkpoint", num_classes=2)  # doctest: +SKIP
    >>> clf.fit(["great film", "dull plot"], [1, 0], batch_size=32, epochs=3)  # doctest: +SKIP
    >>> clf.predict(["what a ride"])  # logits  # doctest: +SKIP
    """

    preprocessor_class = BertPreprocessor
    checkpoint_task = "sequence_classification"
    head_layer = "logits"
    records_text_pairs = True

    @classmethod
    def _kwargs_from_head(cls, head, kwargs):
        """`num_classes` defaults to the size of the preset's classifier head."""
        if "num_classes" in kwargs:
            return kwargs
        if head.task != cls.checkpoint_task:
            raise TypeError(f"{cls.__name__}.from_preset needs num_classes: {head.source} "
                            "holds no sentence-classification head to take it from.")
        return {**kwargs, "num_classes": int(head.arrays[cls.head_weights[0]].shape[0])}

    def __init__(self, backbone, num_classes, preprocessor=None, dropout=0.1, text_pairs=None,
                 **kwargs):
        dtype = kwargs.pop("dtype", None)  # a quantized task's policy map
        # === Layers ===
        head_dropout = keras.layers.Dropout(dropout, dtype=backbone.dtype_policy,
                                            name="classifier_dropout")
        # Logits in float32 even under mixed precision, for a stable loss.
        logits_layer = keras.layers.Dense(num_classes, kernel_initializer=bert_initializer(),
                                          dtype=layer_dtype(dtype, "float32"), name="logits")
        # === Functional model ===
        inputs = backbone.input
        pooled = backbone.pool(inputs)
        outputs = logits_layer(head_dropout(pooled))
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        # === Config ===
        self._init_task(backbone, preprocessor, text_pairs)
        self.num_classes = int(num_classes)
        self.dropout = float(dropout)
        self._compile_by_default()

    def _check_labels(self, y, count):
        check_classification_labels(y, count, self.num_classes)

    def default_loss(self):
        return classification_loss(self.num_classes)

    def default_metrics(self):
        return classification_metrics(self.num_classes)

    def get_config(self):
        return {**self._task_config(), "num_classes": self.num_classes, "dropout": self.dropout}
