"""BertTask: what every task model shares — raw-text fit/predict/evaluate through its
preprocessor in `tf.data`, the paper's fine-tuning optimizer, presets and config."""

import inspect
import math
import warnings

import keras
import numpy as np
import tensorflow as tf

from keras_bert_repro import presets
from keras_bert_repro.data import length_grouped_dataset
from keras_bert_repro.models import dtype_maps
from keras_bert_repro.models.backbone import BertBackbone
from keras_bert_repro.models.checkpoint_export import check_format, save_foreign
from keras_bert_repro.models.example_checks import check_sample_weight, check_texts
from keras_bert_repro.models.weight_assignment import dense_head_arrays
from keras_bert_repro.training import WarmupLinearDecay, bert_adamw

DEFAULT_LEARNING_RATE = 3e-5  # the middle of the paper's grid {5e-5, 3e-5, 2e-5}

# Tasks on the sequence output (NER, QA, MLM without NSP) leave the backbone's pooler
# unused, so it gets no gradient; it is kept (and saved) for tasks that use it.
warnings.filterwarnings("ignore", message=r"Gradients do not exist for variables "
                        r"\['pooled_dense/kernel', 'pooled_dense/bias'\]")


def is_text(x):
    """True for strings, sequences of strings, string tensors, or tuples of them (pairs)."""
    if isinstance(x, tuple) and x:
        # A pair with text on one side is text, so a bad row on the other gets named.
        return any(is_text(part) for part in x) and all(
            is_text(part) or isinstance(part, list) for part in x)
    if isinstance(x, (str, bytes)):
        return True
    if isinstance(x, (tf.Tensor, tf.RaggedTensor)):
        return x.dtype == tf.string
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "USO"
    if isinstance(x, list) and x:
        # Any string makes it text, so that a None or NaN row gets a clear error.
        return any(isinstance(v, (str, bytes)) for v in x)
    return False


def one_example_as_batch(x):
    """One text (or a pair of texts) as a batch of one, as keras-hub's `predict`
    takes it; anything else unchanged."""
    if isinstance(x, (str, bytes)):
        return [x]
    if isinstance(x, tuple) and len(x) == 2 and all(isinstance(p, (str, bytes)) for p in x):
        return ([x[0]], [x[1]])
    return x


def _refuse_empty(x, call):
    """An empty list (or pair of them) of examples: one clear error, not Keras'."""
    parts = x if isinstance(x, tuple) else (x,)
    if isinstance(x, (list, tuple)) and all(isinstance(p, (list, tuple)) and not p
                                            for p in parts):
        raise ValueError(f"{call} got no examples.")


def _dataset_is_text(dataset, whole=False):
    """Whether the text part of each element (or, with `whole`, all of it) is strings."""
    spec = dataset.element_spec
    part = spec[0] if isinstance(spec, tuple) and not whole else spec
    return all(getattr(leaf, "dtype", None) == tf.string for leaf in tf.nest.flatten(part))


def _text_pairs(x):
    """Whether raw-text examples `x` are pairs: a tuple of two, or a dataset whose text
    part is one."""
    if isinstance(x, tf.data.Dataset):
        spec = x.element_spec
        text = spec[0] if isinstance(spec, tuple) and len(spec) > 1 and isinstance(
            spec[0], tuple) else spec
        return isinstance(text, tuple) and len(text) == 2
    return isinstance(x, tuple) and len(x) == 2


def _split_tail(values, fraction):
    """`values` (a list, an array, or a tuple of them: pairs) cut into the first
    `1 - fraction` and the last `fraction` of rows, as Keras' `validation_split`."""
    if isinstance(values, tuple):
        heads, tails = zip(*(_split_tail(v, fraction) for v in values))
        return heads, tails
    cut = int(len(values) * (1.0 - fraction))
    return values[:cut], values[cut:]


def _slices(x):
    return tuple(_slices(p) for p in x) if isinstance(x, tuple) else tf.constant(
        np.asarray(x, dtype=object).astype(str) if isinstance(x, list) else x)


class BertTask(keras.Model):
    """Base of the task models: a functional model over `BertBackbone` inputs plus
    an optional `preprocessor`, so `fit`, `predict` and `evaluate` take raw text.

    Raw text goes through `tf.data`: `from_tensor_slices` -> shuffle -> batch ->
    `preprocessor` map (TF Text) -> prefetch, whatever the Keras backend. The
    default `compile()` is the paper's fine-tuning recipe (`bert_adamw`), whose
    total step count `fit` fills in from the data and epochs.

    A subclass names the preprocessor `from_preset` attaches (`preprocessor_class`),
    that preprocessor's arguments with their defaults for the task
    (`preprocessor_defaults`), and what `from_preset` takes by position
    (`preset_positional`, after the preset).
    """

    preprocessor_class = None
    preprocessor_defaults = {"sequence_length": 128, "pad_to_multiple_of": 16}
    preset_positional = ("num_classes", "sequence_length", "pad_to_multiple_of")
    # Keras Model arguments `from_preset` passes on to the constructor.
    MODEL_ARGUMENTS = ("name", "trainable", "compile")
    # Classifiers take single texts or pairs: `fit` records which in `text_pairs`, the
    # config keeps it, and the SavedModel export takes its signature from it.
    records_text_pairs = False
    # Arguments that describe one thing (a task's classes and their names): given one,
    # `from_preset` drops the saved others.
    linked_arguments = ()

    def __init__(self, *args, compile=True, **kwargs):
        """`compile=False` leaves the model uncompiled (keras-hub's switch); by
        default each task compiles itself with the paper's recipe."""
        super().__init__(*args, **kwargs)
        self._compiles_itself = bool(compile)

    def _compile_by_default(self):
        if self._compiles_itself:
            self.compile()

    def quantize(self, mode, **kwargs):
        """Keras' `quantize` ("int8", "float8", ...) on every kernel and embedding
        lookup; the config then names the quantized layers (see `dtype_maps`)."""
        with dtype_maps.quiet_quantize():
            super().quantize(mode, **kwargs)

    def _init_task(self, backbone, preprocessor, text_pairs=None):
        self.backbone = backbone
        self.preprocessor = preprocessor
        self.text_pairs = None if text_pairs is None else bool(text_pairs)
        # The task carries the backbone's policy (its heads keep float32 logits).
        self.dtype_policy = dtype_maps.default_policy(backbone.dtype_policy)

    def _head_layers(self):
        """The task's own layers, the backbone's excluded."""
        backbone = {id(layer) for layer in self.backbone._flatten_layers()}
        return [layer for layer in self._flatten_layers(include_self=False)
                if id(layer) not in backbone]

    # === Raw text -> tf.data ===
    def _text_dataset(self, x, y=None, sample_weight=None, batch_size=32, shuffle=False,
                      seed=None, group_by_length=False):
        if isinstance(x, tf.data.Dataset):
            return self._map_preprocessor(x)
        parts = (_slices(x),) + tuple(
            tf.constant(np.asarray(v)) for v in (y, sample_weight) if v is not None)
        return self._map_preprocessor(
            self._batches(parts, batch_size, shuffle, seed, group_by_length))

    def _batches(self, parts, batch_size, shuffle, seed, group_by_length):
        """Batches of in-memory examples (`parts[0]` the inputs): length-grouped when
        shuffling with a preprocessor that pads to a multiple, else drawn uniformly."""
        multiple = getattr(self.preprocessor, "pad_to_multiple_of", None)
        if shuffle and group_by_length and multiple:
            return self._length_grouped(parts, batch_size, seed, int(multiple))
        dataset = tf.data.Dataset.from_tensor_slices(parts)
        if shuffle:
            dataset = dataset.shuffle(self._count(parts[0]), seed=seed,
                                      reshuffle_each_iteration=True)
        return self._batch(dataset, batch_size)

    def _length_grouped(self, parts, batch_size, seed, multiple):
        """Shuffled batches of texts whose packed lengths round up to the same
        multiple, so each batch pads only to its bucket (`LengthGroupedPlan`: what
        is left of each bucket pools into at most one short batch per epoch)."""
        buckets = (self._packed_lengths(parts[0]).astype("int64") - 1) // multiple
        return length_grouped_dataset(parts, buckets, batch_size, seed)

    @staticmethod
    def _batch(dataset, batch_size):
        return dataset.batch(batch_size)

    def _packed_lengths(self, texts, chunk=4096):
        """Tokens (padding excluded) each example packs to; for several rows per
        example (multiple choice), its longest row."""
        lengths = []
        for part in self._text_chunks(texts, chunk):
            mask = keras.ops.convert_to_numpy(self.preprocessor(part)["padding_mask"])
            lengths.append(mask.reshape(mask.shape[0], -1, mask.shape[-1]).sum(-1).max(-1))
        return np.concatenate(lengths).astype("int32")

    def _text_chunks(self, texts, size):
        """Consecutive slices of `size` examples of in-memory text (pairs alike)."""
        for start in range(0, self._count(texts), size):
            yield tf.nest.map_structure(lambda t: t[start:start + size], texts)

    def _map_preprocessor(self, dataset):
        """Maps the preprocessor over the text of each element: elements are text
        alone (a string tensor, or a pair of them) or `(text, label[, weight])`."""
        preprocess = self.preprocessor
        text_only = _dataset_is_text(dataset, whole=True)

        # No tensor-dependent Python control flow here: skip AutoGraph, whose
        # conversion of the TF Text call tree costs seconds per dataset.
        @tf.autograph.experimental.do_not_convert
        def apply(*element):
            if text_only:
                return preprocess(element if len(element) > 1 else element[0])
            if len(element) == 1:
                return preprocess(element[0])
            return (preprocess(element[0]),) + element[1:]

        return dataset.map(apply, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    @staticmethod
    def _count(x):
        return len(x[0]) if isinstance(x, tuple) else len(x)

    # === Checks before any step ===
    def _check_examples(self, x, y=None, sample_weight=None, call="fit"):
        """Checks in-memory texts, labels and weights (`example_checks`); raises naming
        the argument and its first bad row before anything runs. Datasets pass as is."""
        if isinstance(x, tf.data.Dataset):
            return
        count = self._count_examples(x)
        if count == 0:
            raise ValueError(f"{call} got no examples.")
        if y is not None:
            self._check_labels(y, count)
        check_sample_weight(sample_weight, count)

    def _count_examples(self, x):
        return check_texts(x)

    def _check_labels(self, y, count):
        """Labels of `count` examples; each task checks its own kind."""

    def _wants_text(self, x):
        text = is_text(x) or (isinstance(x, tf.data.Dataset) and _dataset_is_text(x))
        if text and self.preprocessor is None:
            raise ValueError(f"{type(self).__name__} has no preprocessor: pass token ids, or "
                             "build it with from_preset / a preprocessor to use raw text.")
        return text

    # === Training API ===
    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """`"auto"` is the paper's recipe: AdamW (weight decay 0.01, none on LayerNorm
        and bias), linear warm-up over 10% of the steps then linear decay, peak
        learning rate 3e-5, global-norm clipping 1.0."""
        if optimizer == "auto":
            optimizer = bert_adamw(DEFAULT_LEARNING_RATE)
        if loss == "auto":
            loss = self.default_loss()
        if metrics == "auto":
            metrics = self.default_metrics()
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def compile_from_config(self, config):
        """Recompiles a model loaded from `.keras` with its saved optimizer, losses
        and metrics (Keras skips this for models with a custom `compile`), and builds
        the optimizer so its saved state (step, moments) loads into it."""
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def default_loss(self):
        raise NotImplementedError

    def default_metrics(self):
        return None

    def fit(self, x=None, y=None, batch_size=None, epochs=1, validation_data=None,
            shuffle=True, sample_weight=None, steps_per_epoch=None, seed=None,
            group_by_length=True, **kwargs):
        """`keras.Model.fit`, also on raw text (in memory or a `tf.data.Dataset`).

        On in-memory text with `shuffle`, `group_by_length` batches texts of
        similar length together (random batches within length buckets of the
        preprocessor's `pad_to_multiple_of`; what the buckets leave pools into
        batches of mixed length), so short texts do not compute on padding;
        `group_by_length=False` draws batches uniformly.

        Example:
        >>> clf.fit(["great film", "dull plot"], [1, 0], epochs=3)  # doctest: +SKIP
        """
        _refuse_empty(x, "fit")
        if self._wants_text(x):
            if not isinstance(x, tf.data.Dataset):
                self._check_examples(x, y, sample_weight)
            if kwargs.get("validation_split") and not isinstance(x, tf.data.Dataset):
                validation_split = kwargs.pop("validation_split")
                if validation_data is not None:
                    raise ValueError("Give validation_split or validation_data, not both.")
                # Keras' rule: the last examples, before any shuffling.
                (x, x_val), (y, y_val) = _split_tail(x, validation_split), \
                    _split_tail(y, validation_split)
                if sample_weight is not None:
                    sample_weight, w_val = _split_tail(sample_weight, validation_split)
                    validation_data = (x_val, y_val, w_val)
                else:
                    validation_data = (x_val, y_val)
            if self.records_text_pairs:
                self.text_pairs = _text_pairs(x)
            # The dataset knows its batch count, which sizes the schedule.
            x = self._text_dataset(x, y, sample_weight, batch_size or 32, shuffle, seed,
                                   group_by_length)
            y = sample_weight = batch_size = None
            shuffle = False  # done in the dataset
        if validation_data is not None and self._wants_text(
                validation_data[0] if isinstance(validation_data, tuple) else validation_data):
            if isinstance(validation_data, tuple):
                validation_data = self._text_dataset(*validation_data, batch_size=64)
            else:
                validation_data = self._map_preprocessor(validation_data)
        self._size_schedule(x, epochs, steps_per_epoch, batch_size)
        if isinstance(x, tf.data.Dataset):
            shuffle = False  # a dataset brings its own order (Keras warns otherwise)
        return super().fit(x=x, y=y, batch_size=batch_size, epochs=epochs,
                           validation_data=validation_data, shuffle=shuffle,
                           sample_weight=sample_weight, steps_per_epoch=steps_per_epoch, **kwargs)

    def _size_schedule(self, x, epochs, steps_per_epoch, batch_size):
        """Gives a `WarmupLinearDecay` left without `total_steps` (or sized by an
        earlier fit) the step count of this fit, starting at the current step."""
        # (Uncompiled: nothing to size; Keras' fit says to compile.)
        schedule = getattr(getattr(self, "optimizer", None), "_learning_rate", None)
        if not isinstance(schedule, WarmupLinearDecay):
            return
        if schedule.total_steps is not None and not getattr(schedule, "_sized_by_fit", False):
            return
        if steps_per_epoch is None and isinstance(x, tf.data.Dataset):
            cardinality = int(x.cardinality())
            steps_per_epoch = cardinality if cardinality > 0 else None
        if steps_per_epoch is None and x is not None and hasattr(x, "__len__"):
            steps_per_epoch = math.ceil(len(tf.nest.flatten(x)[0]) / (batch_size or 32))
        if steps_per_epoch is None:
            raise ValueError("Cannot size the learning-rate schedule: pass steps_per_epoch, or "
                             "compile with bert_adamw(total_steps=...).")
        schedule.total_steps = int(steps_per_epoch * epochs)
        schedule.start_step = int(keras.ops.convert_to_numpy(self.optimizer.iterations))
        schedule._sized_by_fit = True
        self.train_function = None  # re-trace: the schedule's constants changed

    def predict(self, x, batch_size=None, verbose="auto", **kwargs):
        """`keras.Model.predict`, also on raw text: a list of texts (or a pair of
        lists), a dataset of them, or one text (a batch of one)."""
        x = one_example_as_batch(x)
        _refuse_empty(x, "predict")
        if self._wants_text(x):
            if not isinstance(x, tf.data.Dataset):
                self._count_examples(x)
            if not isinstance(x, tf.data.Dataset) and not kwargs:
                return self._predict_text(x, batch_size or 64, verbose)
            x, batch_size = self._text_dataset(x, batch_size=batch_size or 64), None
        return super().predict(x, batch_size=batch_size, verbose=verbose, **kwargs)

    def predict_on_batch(self, x):
        """`keras.Model.predict_on_batch`, also on raw text (one batch, preprocessed)."""
        x = one_example_as_batch(x)
        if self._wants_text(x) and not isinstance(x, tf.data.Dataset):
            self._count_examples(x)
            x = self.preprocessor(_slices(x))
        return super().predict_on_batch(x)

    def _predict_text(self, x, batch_size, verbose):
        """In-memory text: each batch through the traced preprocessor (~1 ms) and
        `predict_on_batch`, not a tf.data pipeline, whose iterator alone costs ~1 s
        to instantiate (the TF Text graph) on every predict call."""
        texts, count = _slices(x), self._count(x)
        if count == 0:
            raise ValueError("predict got no texts.")
        steps = math.ceil(count / batch_size)
        show = verbose == 1 or (verbose == "auto" and steps > 1)
        progbar = keras.utils.Progbar(steps, unit_name="batch") if show else None
        outputs = []
        for i, batch in enumerate(self._text_chunks(texts, batch_size)):
            outputs.append(self.predict_on_batch(self.preprocessor(batch)))
            if progbar is not None:
                progbar.update(i + 1)
        return tf.nest.map_structure(lambda *parts: np.concatenate(parts), *outputs)

    def evaluate(self, x=None, y=None, batch_size=None, sample_weight=None, **kwargs):
        _refuse_empty(x, "evaluate")
        if self._wants_text(x):
            if not isinstance(x, tf.data.Dataset):
                self._check_examples(x, y, sample_weight, call="evaluate")
            x = self._text_dataset(x, y, sample_weight, batch_size=batch_size or 64)
            y = sample_weight = batch_size = None
        return super().evaluate(x=x, y=y, batch_size=batch_size, sample_weight=sample_weight,
                                **kwargs)

    # === Config ===
    def _task_config(self):
        return {
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "preprocessor": keras.saving.serialize_keras_object(self.preprocessor)
            if self.preprocessor is not None else None,
            "name": self.name,
            **({"text_pairs": self.text_pairs} if self.records_text_pairs else {}),
            **self._head_dtype_config(),
        }

    def _head_dtype_config(self):
        """`{"dtype": policy map}` naming the quantized head layers, so that a task
        rebuilt from its config builds them quantized (the backbone's config names
        its own); `{}` when no head layer is quantized."""
        policy = dtype_maps.policy_with_quantized("float32", self._head_layers())
        if not isinstance(policy, dtype_maps.DTypePolicyMap):
            return {}
        return {"dtype": keras.dtype_policies.serialize(policy)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "dtype" in config:
            config["dtype"] = dtype_maps.deserialize(config["dtype"])
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        if config.get("preprocessor") is not None:
            config["preprocessor"] = keras.saving.deserialize_keras_object(config["preprocessor"])
        return cls(**config)

    # === Presets ===
    @classmethod
    def from_preset(cls, preset, *args, dtype=None, **kwargs):
        """The backbone's weights and the tokenizer from `preset`; the task head too
        where the preset holds this task's (e.g. an HF `BertForSequenceClassification`
        or a keras-hub `BertTextClassifier`, whose size it then gives), else a fresh one.

        `preset` is a registry name (`kbr.list_presets()`) or a directory in any
        layout `BertBackbone.from_preset` reads. The preprocessor's arguments
        (`preprocessor_defaults`, e.g. `sequence_length`; the padding of each batch
        to its longest row rounded up to `pad_to_multiple_of`, None: always to
        `sequence_length`) go to the preprocessor; `dtype` to the backbone (e.g.
        `"mixed_bfloat16"`); the rest, and `args`, to the task's constructor.
        `preprocessor=` gives one of your own (or None for none) instead.

        Example:
        >>> clf = BertClassifier.from_preset("/path/to/model", num_classes=2)  # doctest: +SKIP
        >>> qa = BertQuestionAnswerer.from_preset("/path/to/model", doc_stride=64)  # doctest: +SKIP
        """
        if cls.preprocessor_class is None:
            raise TypeError(f"{cls.__name__} names no preprocessor_class, which from_preset "
                            "needs (see BertTask).")
        kwargs = cls._name_positional(args, kwargs)
        task_kwargs, preprocessor_kwargs = cls._split_preset_kwargs(kwargs)
        cls._check_task_kwargs(task_kwargs)
        path = presets.resolve_preset(preset)
        saved = cls._saved_task(path)
        if saved is not None:  # this task, saved by save_to_preset: its settings
            task_kwargs, preprocessor_kwargs = cls._with_saved_settings(
                saved, kwargs, task_kwargs, preprocessor_kwargs)
        head = presets.read_task_head(path) if cls.head_layer else None
        task_kwargs = cls._kwargs_from_head(head, task_kwargs)
        backbone = BertBackbone.from_preset(path, dtype=dtype)
        length = preprocessor_kwargs.get("sequence_length")
        if length is not None and "sequence_length" not in kwargs and (
                saved is None or "sequence_length" not in (saved.get("preprocessor") or {})):
            # The default length, on a model with a shorter position table: its table.
            length = preprocessor_kwargs["sequence_length"] = min(
                length, backbone.max_sequence_length)
        if length is not None and length > backbone.max_sequence_length:
            raise ValueError(f"sequence_length={length} exceeds the model's position table "
                             f"({backbone.max_sequence_length}).")
        if "preprocessor" in task_kwargs:  # keras-hub's: one of the caller's, or None
            given = sorted(set(kwargs) & set(cls.preprocessor_defaults))
            if given:
                raise ValueError(f"{given} configure the preprocessor from_preset builds; "
                                 "with preprocessor= given, set them on it.")
            preprocessor = task_kwargs.pop("preprocessor")
        else:
            preprocessor = cls.preprocessor_class.from_preset(path, **preprocessor_kwargs)
        model = cls(backbone, preprocessor=preprocessor, **task_kwargs)
        if saved is not None:
            model._load_saved_head(saved, path)
        else:
            model.load_preset_heads(path, head)
        return model

    @classmethod
    def _saved_task(cls, path):
        """The `task.json` (with the head's arrays) of a preset `save_to_preset` wrote
        for this task class; None for other presets (their encoder alone loads)."""
        saved = presets.read_own_task(path)
        if saved is None or saved.get("registered_name") != keras.saving.get_registered_name(cls):
            return None
        return saved

    @classmethod
    def _with_saved_settings(cls, saved, given, task_kwargs, preprocessor_kwargs):
        """The saved task's and preprocessor's arguments, under those `given` (one of
        `linked_arguments` given drops the saved others of its group)."""
        dropped = set(given).union(*(group for group in cls.linked_arguments
                                     if set(group) & set(given)))
        config = {k: v for k, v in saved["config"].items() if k not in dropped}
        if "dtype" in config:  # the quantized head layers
            config["dtype"] = dtype_maps.deserialize(config["dtype"])
        explicit = {k: v for k, v in task_kwargs.items() if k in given}
        task_kwargs = {**{k: v for k, v in task_kwargs.items() if k not in config},
                       **config, **explicit}
        preprocessor_kwargs = {**preprocessor_kwargs, **(saved.get("preprocessor") or {}),
                               **{k: v for k, v in preprocessor_kwargs.items() if k in given}}
        return task_kwargs, preprocessor_kwargs

    def _saved_head_variables(self):
        """`{variable path: variable}` of the task's own weights (the backbone's
        aside): what `save_to_preset` writes to `task.weights.h5`."""
        backbone = {id(v) for v in self.backbone.weights}
        variables = {}
        for variable in self.weights:
            if id(variable) not in backbone:
                variables.setdefault(variable.path, variable)
        return variables

    def _load_saved_head(self, saved, path):
        """The head's arrays from a preset of this task; a head that does not fit
        (e.g. `num_classes` given otherwise) starts fresh, with a warning."""
        variables, arrays = self._saved_head_variables(), saved["arrays"]
        misfit = sorted(set(variables) ^ set(arrays)) or [
            p for p, v in variables.items() if tuple(arrays[p].shape) != tuple(v.shape)]
        if misfit:
            warnings.warn(f"{path} holds a {type(self).__name__} head that does not fit this "
                          f"model ({misfit[:3]} differ): the head starts fresh.", stacklevel=3)
            return
        for name, variable in variables.items():
            variable.assign(arrays[name])

    @classmethod
    def _name_positional(cls, args, kwargs):
        """`from_preset`'s positional arguments as keywords (`preset_positional`)."""
        if len(args) > len(cls.preset_positional):
            raise TypeError(f"{cls.__name__}.from_preset takes at most "
                            f"{len(cls.preset_positional)} arguments after the preset "
                            f"({', '.join(cls.preset_positional)}), got {len(args)}.")
        named = dict(zip(cls.preset_positional, args))
        both = sorted(set(named) & set(kwargs))
        if both:
            raise TypeError(f"{cls.__name__}.from_preset got {both} both by position and "
                            "by keyword.")
        return {**named, **kwargs}

    @classmethod
    def _check_task_kwargs(cls, kwargs):
        """Refuses what neither the task nor its preprocessor takes (a misspelt
        `sequence_lenght` would otherwise vanish into Keras' `**kwargs`)."""
        parameters = inspect.signature(cls.__init__).parameters
        known = {name for name, p in parameters.items()
                 if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        known = (known - {"self", "backbone"}) | set(cls.MODEL_ARGUMENTS)
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise TypeError(f"{cls.__name__}.from_preset got unknown argument(s) {unknown}; "
                            f"it takes {sorted(known | set(cls.preprocessor_defaults))} "
                            "and dtype.")

    @classmethod
    def _split_preset_kwargs(cls, kwargs):
        """`from_preset`'s keyword arguments -> (the task's, the preprocessor's)."""
        task = {k: v for k, v in kwargs.items() if k not in cls.preprocessor_defaults}
        preprocessor = {k: kwargs.get(k, default)
                        for k, default in cls.preprocessor_defaults.items()}
        return task, preprocessor

    # === Task heads in checkpoints ===
    # What the layouts call this task (`presets.TASKS`); None: no layout has it.
    checkpoint_task = None
    # The task's output Dense, and its weights' names in a checkpoint
    # (`presets.CLASSIFIER_WEIGHTS` or `SQUAD_WEIGHTS`, Google's run_*.py names).
    head_layer = None
    head_weights = presets.CLASSIFIER_WEIGHTS

    @classmethod
    def _kwargs_from_head(cls, head, kwargs):
        """The constructor's arguments, completed from the preset's `TaskHead`."""
        return kwargs

    def load_preset_heads(self, path, head=None):
        """Loads this task's head from the preset directory `path` where it holds one
        for the same task with as many outputs (`head`: its `presets.TaskHead`, if
        read already); otherwise the head keeps its fresh initialisation."""
        if not self.head_layer:
            return
        head = head or presets.read_task_head(path)
        if head.task != self.checkpoint_task or not set(self.head_weights) <= set(head.arrays):
            return
        layer = self.get_layer(self.head_layer)
        weights, bias = (np.asarray(head.arrays[name]) for name in self.head_weights)
        if weights.T.shape != tuple(layer.kernel.shape):
            warnings.warn(f"{head.source} holds a {head.task} head with {weights.shape[0]} "
                          f"outputs and this model has {layer.kernel.shape[-1]}: the head "
                          "starts fresh.", stacklevel=3)
            return
        layer.kernel.assign(weights.T.astype(layer.kernel.dtype))
        layer.bias.assign(bias.astype(layer.bias.dtype))

    def head_arrays(self):
        """The task head's weights under Google's names (see `presets.Checkpoint`)."""
        return dense_head_arrays(self.get_layer(self.head_layer), self.head_weights)

    def save_to_preset(self, preset_dir, vocabulary=None, format="own", lowercase=None,
                       overwrite=False, allow_gelu_change=False):
        """Writes the model as a checkpoint another library (or `from_preset`) loads.

        `format="own"` writes this library's preset: the encoder's files and the
        task's (`task.json`, `task.weights.h5`: its arguments, label names,
        preprocessor settings and head), so `from_preset(dir)` gives the task back
        whole, quantized layers included, and other tasks and `BertBackbone` read
        its encoder. `"hf"` writes the
        task's `BertFor*` class (`BertForSequenceClassification`,
        `BertForTokenClassification`, `BertForQuestionAnswering`,
        `BertForMultipleChoice`, `BertForPreTraining` / `BertForMaskedLM`),
        `"keras_hub"` a `BertTextClassifier` preset for sentence classifiers,
        `"google"` a TF1 checkpoint with `run_classifier.py` / `run_squad.py`'s
        head names. The vocabulary and casing come from the preprocessor's
        tokenizer unless given. Other arguments: see `BertBackbone.save_to_preset`.

        Example:
        >>> clf.save_to_preset("/tmp/sst2_hf", format="hf")  # doctest: +SKIP
        >>> BertForSequenceClassification.from_pretrained("/tmp/sst2_hf")  # doctest: +SKIP
        """
        if check_format(format, self) == "own":
            self._save_own_preset(preset_dir, vocabulary)
            return
        save_foreign(self, preset_dir, format, vocabulary, lowercase, overwrite,
                     allow_gelu_change)

    # Keras layer arguments a preset leaves to whoever loads it.
    RUN_SETTINGS = ("backbone", "preprocessor", "name", "trainable")

    def _save_own_preset(self, preset_dir, vocabulary=None):
        """The backbone's preset, the tokenizer's files, and `task.json` +
        `task.weights.h5`: the task's arguments (label names, classes, ...), its
        preprocessor's, and the head's weights, which `from_preset(dir)` reads."""
        tokenizer = getattr(self.preprocessor, "tokenizer", None)
        config = {k: v for k, v in self.get_config().items() if k not in self.RUN_SETTINGS}
        preprocessor = None if self.preprocessor is None else {
            k: v for k, v in self.preprocessor.get_config().items()
            if k not in ("tokenizer", "name", "trainable", "dtype")}
        arrays = {name: keras.ops.convert_to_numpy(v)
                  for name, v in self._saved_head_variables().items()}
        # One change: a kill never pairs one write's encoder with another's head.
        with presets.updating(preset_dir) as staging:
            self.backbone._write_own_preset(staging, vocabulary)
            if vocabulary is None and tokenizer is not None:
                tokenizer.save_to_preset(staging)
            presets.write_own_task(staging, keras.saving.get_registered_name(type(self)),
                                   config, preprocessor, arrays)
