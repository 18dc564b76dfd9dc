"""BertFeatureTokenClassifier: the paper's feature-based NER (5.3, Table 7) — frozen
BERT features into a two-layer BiLSTM, a label per word."""

import keras

from keras_bert_repro.layers import MaskedBiLSTM, ScalarMix, bert_initializer
from keras_bert_repro.models.dtype_maps import layer_dtype
from keras_bert_repro.models.feature_classifier import FrozenFeatures, HeadOnlyCompile, freeze
from keras_bert_repro.models.task import BertTask
from keras_bert_repro.models.token_classifier import BertTokenClassifier, _checked_labels

COMBINES = ("concat", "sum", "weighted")


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class BertFeatureTokenClassifier(HeadOnlyCompile, BertTokenClassifier):
    """Word labels from frozen BERT features, as the paper's Table 7.

    The backbone is frozen and run without dropout; the hidden states of
    `feature_layers` are concatenated, summed or mixed with learnt softmax
    weights (`"weighted"`), and a `bilstm_layers`-layer BiLSTM (padding
    skipped) and a dense layer over each position label each word at its first
    WordPiece. Only the BiLSTM, the mix and the dense layer train. Inputs,
    outputs, `fit` and `predict` are those of `BertTokenClassifier`.

    Args:
        backbone: a `BertBackbone`; this model sets its `trainable` to False.
        num_classes, label_names, preprocessor, dropout: as `BertTokenClassifier`.
        feature_layers: indices into the `num_layers + 1` hidden states (0: the
            embeddings, -1: the last block). Table 7's rows: `[0]`, `[-2]`,
            `[-1]`, all with `"weighted"`, the last four with `"concat"` or
            `"sum"`.
        combine: `"concat"`, `"sum"` or `"weighted"`.
        bilstm_units: LSTM units per direction (the paper: 768 for BERT-Base).
        bilstm_layers: stacked BiLSTMs (the paper: two).

    Example:
    >>> ner = BertFeatureTokenClassifier.from_preset(  # doctest: +SKIP
    ...     "/path/to/checkpoint", label_names=labels, feature_layers=[-4, -3, -2, -1])
    >>> ner.fit(words, tag_ids(tags, labels), epochs=3)  # doctest: +SKIP
    """

    checkpoint_task = None  # no foreign layout holds a BiLSTM head

    def __init__(self, backbone, num_classes=None, preprocessor=None, dropout=0.1,
                 label_names=None, feature_layers=(-4, -3, -2, -1), combine="concat",
                 bilstm_units=256, bilstm_layers=2, **kwargs):
        num_classes, label_names = _checked_labels(num_classes, label_names)
        if combine not in COMBINES:
            raise ValueError(f"combine must be one of {COMBINES}, got {combine!r}.")
        feature_layers = tuple(int(i) for i in feature_layers)
        freeze(backbone, feature_layers)
        dtype = kwargs.pop("dtype", None)  # a quantized task's policy map
        # === Layers ===
        features = FrozenFeatures(backbone, feature_layers,
                                  None if combine == "weighted" else combine, name="features")
        mix = ScalarMix(dtype=backbone.dtype_policy, name="layer_mix") \
            if combine == "weighted" else None
        bilstm = MaskedBiLSTM(bilstm_units, num_layers=bilstm_layers, dtype=backbone.dtype_policy,
                              name="bilstm")
        head_dropout = keras.layers.Dropout(dropout, dtype=backbone.dtype_policy,
                                            name="token_classifier_dropout")
        logits_layer = keras.layers.Dense(num_classes, kernel_initializer=bert_initializer(),
                                          dtype=layer_dtype(dtype, "float32"), name="logits")
        # === Functional model ===
        inputs = backbone.input
        sequence = features(inputs)
        if mix is not None:
            sequence = mix(sequence)
        sequence = bilstm(head_dropout(sequence), inputs["padding_mask"])
        outputs = logits_layer(sequence)
        BertTask.__init__(self, inputs=inputs, outputs=outputs, **kwargs)
        # === Config ===
        self._init_task(backbone, preprocessor)
        self.features = features
        self.num_classes = num_classes
        self.label_names = label_names
        self.dropout = float(dropout)
        self.feature_layers = feature_layers
        self.combine = combine
        self.bilstm_units = int(bilstm_units)
        self.bilstm_layers = int(bilstm_layers)
        self._compile_by_default()

    def get_config(self):
        return {**super().get_config(), "feature_layers": list(self.feature_layers),
                "combine": self.combine, "bilstm_units": self.bilstm_units,
                "bilstm_layers": self.bilstm_layers}
