"""BertTokenClassifier: a label per word (NER), predicted at each word's first WordPiece."""

import math
import numbers

import keras
import numpy as np
import tensorflow as tf

from keras_bert_repro.layers import bert_initializer
from keras_bert_repro.models.dtype_maps import layer_dtype
from keras_bert_repro.models.example_checks import check_texts
from keras_bert_repro.models.task import BertTask
from keras_bert_repro.text import BertWordPreprocessor, to_ragged_words


def checked_label_names(label_names):
    """`label_names` as a list of distinct strings, or raises naming the problem."""
    if isinstance(label_names, (str, bytes)):
        raise TypeError(f"label_names must be a list of tags, not one string: {label_names!r}.")
    label_names = [str(name) for name in label_names]
    if len(set(label_names)) != len(label_names):
        raise ValueError(f"label_names has duplicates: {label_names}.")
    return label_names


def _checked_labels(num_classes, label_names):
    """-> (num_classes, label_names as a list of strings or None), checked to agree."""
    if label_names is not None:
        label_names = checked_label_names(label_names)
        if num_classes is not None and int(num_classes) != len(label_names):
            raise ValueError(f"num_classes={num_classes} but {len(label_names)} label_names "
                             f"were given: {label_names}.")
        return len(label_names), label_names
    if num_classes is None:
        raise ValueError("Give label_names (the tag of each label id, e.g. CONLL2003_LABELS) "
                         "or num_classes.")
    return int(num_classes), None


def _is_words(x):
    """Sentences of words: a list of lists of strings, a string tensor of rank 2
    (ragged or not), or a dataset whose (first) element part is one."""
    if isinstance(x, tf.data.Dataset):
        spec = x.element_spec
        x = spec[0] if isinstance(spec, tuple) else spec
        return getattr(x, "dtype", None) == tf.string
    if isinstance(x, (tf.Tensor, tf.RaggedTensor)):
        return x.dtype == tf.string
    return isinstance(x, list) and bool(x) and all(
        isinstance(s, (list, tuple, np.ndarray)) for s in x)


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class BertTokenClassifier(BertTask):
    """Dropout, then one dense layer over every position of the sequence output,
    as the paper's NER (section 4.3): each word is labelled by its first WordPiece.

    With a `BertWordPreprocessor`, `fit` and `evaluate` take sentences of words
    and their int labels (lists of lists, or ragged tensors); the other pieces,
    `[CLS]`, `[SEP]` and padding get sample weight 0, so the loss (averaged over
    the labelled words) and the accuracy count words only. `predict` on words
    returns one label id per word. On token-id dicts the model gives logits
    `[batch, length, num_classes]`.

    Args:
        backbone: a `BertBackbone`.
        num_classes: number of labels; default the number of `label_names`.
        preprocessor: a `BertWordPreprocessor`, so `fit`/`predict` take words.
        dropout: dropout on the sequence output (0.1 in the paper).
        label_names: the tag of each label id (IOB2 or IOB1, e.g. `"B-PER"`), set
            from the training data (`data.label_names_of`). Kept in the config, so
            a saved model knows its tags; serving decodes entities with them.

    Example:
    >>> from keras_bert_repro.data import label_names_of, read_conll, tag_ids
    >>> words, tags = read_conll("../shared/data/conll2003", "train")  # doctest: +SKIP
    >>> labels = label_names_of(tags)  # doctest: +SKIP
    >>> ner = BertTokenClassifier.from_preset("/path/to/model",  # doctest: +SKIP
    ...                                       label_names=labels)
    >>> ner.fit(words, tag_ids(tags, labels), batch_size=32, epochs=3)  # doctest: +SKIP
    >>> ner.predict([["EU", "rejects", "German", "call"]])  # doctest: +SKIP
    [array([3, 0, 7, 0])]
    """

    preprocessor_class = BertWordPreprocessor
    checkpoint_task = "token_classification"
    head_layer = "logits"
    linked_arguments = (("num_classes", "label_names"),)

    @classmethod
    def _kwargs_from_head(cls, head, kwargs):
        """`label_names` (and their number) default to the preset's tagging head's."""
        if head.task != cls.checkpoint_task or kwargs.get("num_classes") is not None \
                or kwargs.get("label_names") is not None:
            return kwargs
        if head.label_names:
            return {**kwargs, "label_names": head.label_names}
        return {**kwargs, "num_classes": int(head.arrays[cls.head_weights[0]].shape[0])}

    def __init__(self, backbone, num_classes=None, preprocessor=None, dropout=0.1,
                 label_names=None, **kwargs):
        num_classes, label_names = _checked_labels(num_classes, label_names)
        dtype = kwargs.pop("dtype", None)  # a quantized task's policy map
        # === Layers ===
        head_dropout = keras.layers.Dropout(dropout, dtype=backbone.dtype_policy,
                                            name="token_classifier_dropout")
        # Logits in float32 even under mixed precision, for a stable loss.
        logits_layer = keras.layers.Dense(num_classes, kernel_initializer=bert_initializer(),
                                          dtype=layer_dtype(dtype, "float32"), name="logits")
        # === Functional model ===
        inputs = backbone.input
        sequence = backbone(inputs)["sequence_output"]
        outputs = logits_layer(head_dropout(sequence))
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        # === Config ===
        self._init_task(backbone, preprocessor)
        self.num_classes = num_classes
        self.label_names = label_names
        self.dropout = float(dropout)
        self._compile_by_default()

    def compile(self, optimizer="auto", loss="auto", metrics="auto", weighted_metrics="auto",
                **kwargs):
        """`"auto"`: the paper's AdamW recipe (see `BertTask.compile`), cross-entropy
        averaged over the labelled words, and word accuracy (a weighted metric, so
        the sample weights of the word alignment apply)."""
        if weighted_metrics == "auto":
            weighted_metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics,
                        weighted_metrics=weighted_metrics, **kwargs)

    def default_loss(self):
        # The mean over labelled words, not over all positions: padding must not
        # shrink the loss (and the gradient clipped at norm 1.0).
        return keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight")

    # === Words -> tf.data ===
    def _wants_text(self, x):
        if isinstance(x, (str, bytes)) or (isinstance(x, list) and x
                                           and isinstance(x[0], (str, bytes))):
            raise TypeError(f"{type(self).__name__} takes sentences of words: a list of "
                            "sentences, each a list of words (e.g. [text.split()]).")
        words = _is_words(x)
        if words and self.preprocessor is None:
            raise ValueError(f"{type(self).__name__} has no preprocessor: pass token ids, or "
                             "build it with from_preset / a preprocessor to use words.")
        return words

    def _check_examples(self, x, y=None, sample_weight=None, call="fit"):
        """Sentences of words, each a list of strings, and (with `y`) one integer label
        per word below `num_classes` (negative: ignored). Ragged tensors pass as is."""
        if isinstance(x, (tf.RaggedTensor, tf.Tensor)):
            return
        if not len(x):
            raise ValueError(f"{call} got no examples.")
        for i, sentence in enumerate(x):
            check_texts(list(sentence), f"x[{i}] (words)")
        if y is None or isinstance(y, (tf.RaggedTensor, tf.Tensor)):
            return
        if len(y) != len(x):
            raise ValueError(f"{len(x)} sentences but {len(y)} rows of labels in y.")
        for i, (sentence, labels) in enumerate(zip(x, y)):
            labels = list(labels)
            if len(labels) != len(sentence):
                raise ValueError(f"y[{i}] has {len(labels)} labels for {len(sentence)} words.")
            for j, label in enumerate(labels):
                if not isinstance(label, numbers.Integral) or isinstance(label, bool) \
                        or label >= self.num_classes:
                    raise ValueError(f"y[{i}][{j}] is {label!r}; word labels are integer ids "
                                     f"below num_classes={self.num_classes} (negative: ignored).")

    @staticmethod
    def _count(x):
        return int(x.nrows()) if isinstance(x, tf.RaggedTensor) else len(x)

    def _text_dataset(self, x, y=None, sample_weight=None, batch_size=32, shuffle=False,
                      seed=None, group_by_length=False):
        if isinstance(x, tf.data.Dataset):
            return self._map_preprocessor(x)
        if sample_weight is not None:
            raise ValueError("Word inputs take no sample_weight: the preprocessor weighs each "
                             "word's first piece; give a word a negative label to ignore it.")
        parts = (to_ragged_words(x),) + (
            () if y is None else (to_ragged_words(y, tf.int32, name="labels"),))
        return self._map_preprocessor(
            self._batches(parts, batch_size, shuffle, seed, group_by_length))

    @staticmethod
    def _batch(dataset, batch_size):
        return dataset.ragged_batch(batch_size)

    def _map_preprocessor(self, dataset):
        """Maps the preprocessor over batches of `words` or `(words, labels)`, giving
        `x` or `(x, y, sample_weight)`."""
        preprocess = self.preprocessor

        @tf.autograph.experimental.do_not_convert
        def apply(*element):
            return preprocess(*element[:2])

        return dataset.map(apply, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    # === Word-level prediction ===
    @property
    def outside_label(self):
        """The id of "O" (outside any entity) in `label_names`; 0 without it."""
        names = self.label_names or []
        return names.index("O") if "O" in names else 0

    def predict(self, x, batch_size=None, verbose="auto", truncated_label=None, **kwargs):
        """Words -> a list with one int array of label ids per sentence, one id per
        word; words cut off by `sequence_length` get `truncated_label` (default
        `outside_label`, the id of "O"). `x` may also be a dataset of batched words
        (or of `(words, labels)`). Token-id dicts -> logits `[batch, length, classes]`."""
        truncated_label = self.outside_label if truncated_label is None else truncated_label
        if not self._wants_text(x):
            return super().predict(x, batch_size=batch_size, verbose=verbose, **kwargs)
        if kwargs:
            raise TypeError(f"predict on words takes no {', '.join(sorted(kwargs))}.")
        if not isinstance(x, tf.data.Dataset):
            self._check_examples(x, call="predict")
        preprocess = self.preprocessor
        if isinstance(x, tf.data.Dataset):
            @tf.autograph.experimental.do_not_convert
            def encode(words):
                return preprocess(words), preprocess.word_starts(words)

            steps = int(x.cardinality())
            steps = steps if steps > 0 else None
            dataset = x.map(lambda *element: element[0]).map(
                encode, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
        else:
            # In memory: batch by batch through the traced preprocessor, no tf.data
            # iterator (whose set-up costs ~1 s a call).
            batch_size = batch_size or 64
            words = to_ragged_words(x)
            steps = math.ceil(self._count(x) / batch_size)
            dataset = ((preprocess(words[i:i + batch_size]),
                        preprocess.word_starts(words[i:i + batch_size]))
                       for i in range(0, self._count(x), batch_size))
        # Batches differ in padded length, so Keras' predict could not stack the
        # piece logits: run batch by batch and keep each word's first-piece label.
        progress = keras.utils.Progbar(steps, verbose=1 if verbose == "auto" else verbose)
        predictions = []
        for inputs, starts in dataset:
            logits = self.predict_on_batch({k: np.asarray(v) for k, v in inputs.items()})
            pieces = np.argmax(keras.ops.convert_to_numpy(logits), axis=-1)
            starts = starts.numpy() if isinstance(starts, tf.RaggedTensor) else starts
            for row, row_starts in zip(pieces, starts):
                predictions.append(np.where(row_starts >= 0, row[np.maximum(row_starts, 0)],
                                            truncated_label))
            progress.add(1)
        return predictions

    def get_config(self):
        return {**self._task_config(), "num_classes": self.num_classes, "dropout": self.dropout,
                "label_names": self.label_names}
