"""A backbone or task as a `presets.Checkpoint`, for `save_to_preset` in the
foreign layouts (HF transformers, keras-hub, Google's release) on every backend."""

from keras_bert_repro import presets
from keras_bert_repro.layers.encoder_block import LAYER_NORM_EPSILON
from keras_bert_repro.models.weight_assignment import backbone_variables, read_variables
from keras_bert_repro.text.vocabulary import read_vocabulary

OWN_FORMATS = ("own", presets.reader.OWN_FORMAT)
FORMATS = ("own", *presets.WRITERS)


def check_format(format, model=None):
    """`"own"` or the foreign layout named by `format`; raises on an unknown one, and
    for a quantized `model` in a foreign layout, whose files hold float weights
    (this library's layout and `.keras` files keep it quantized)."""
    if format not in OWN_FORMATS and format not in presets.WRITERS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}.")
    if format in OWN_FORMATS:
        return "own"
    if getattr(model, "bilstm_units", None):
        raise presets.UnsupportedCheckpoint(
            f"The model has a BiLSTM head (bilstm_units={model.bilstm_units}), which the "
            f"{format} layout cannot hold. Save it in this library's layout (format='own') "
            "or with model.save('....keras').")
    quantized = sorted({layer.quantization_mode for layer in model._flatten_layers()
                        if layer.quantization_mode}) if model is not None else []
    if quantized:
        raise presets.UnsupportedCheckpoint(
            f"The model is quantized ({', '.join(quantized)}); the {format} layout holds "
            "float weights. Save it in this library's layout (format='own') or with "
            "model.save('....keras'), or write the preset before quantize().")
    return format


def model_checkpoint(model, format, vocabulary=None, lowercase=None, with_arrays=True):
    """A `presets.Checkpoint` of a `BertBackbone` or a task.

    A task whose `heads_in(format)` is False is written as its backbone.
    `vocabulary` (a list of tokens or a `vocab.txt` path) and `lowercase` default
    to the task's tokenizer, then to what the vocabulary says. `with_arrays=False`
    leaves the weights out: enough to check a layout can hold the model.
    """
    backbone = getattr(model, "backbone", model)
    tokenizer = getattr(getattr(model, "preprocessor", None), "tokenizer", None)
    if vocabulary is None and tokenizer is not None:
        vocabulary = tokenizer.vocabulary
        lowercase = tokenizer.lowercase if lowercase is None else lowercase
    if not getattr(model, "heads_in", lambda format: True)(format):
        model = backbone
    if vocabulary is None:
        raise ValueError("Writing a checkpoint in a foreign layout needs the vocabulary "
                         "(vocabulary=[tokens] or the path of vocab.txt): its tokenizer "
                         "files go beside the weights.")
    task = getattr(model, "checkpoint_task", "backbone")
    if task is None:
        raise presets.UnsupportedCheckpoint(
            f"No foreign layout holds a {type(model).__name__}'s head; save its backbone "
            "alone (model.backbone.save_to_preset(..., format=...)).")
    tokens = read_vocabulary(vocabulary)
    arrays = {}
    if with_arrays:
        arrays = read_variables(backbone_variables(backbone))
        if model is not backbone:
            arrays.update(model.head_arrays())
    return presets.Checkpoint(
        config={**backbone.get_config(), "layer_norm_epsilon": LAYER_NORM_EPSILON},
        arrays=arrays, vocabulary=tokens,
        lowercase=presets.infer_lowercase(tokens) if lowercase is None else bool(lowercase),
        task=task, label_names=getattr(model, "label_names", None),
        sequence_length=getattr(getattr(model, "preprocessor", None), "sequence_length", None),
        head_dropout=getattr(model, "dropout", 0.1) if model is not backbone else 0.1)


def check_savable(model, format, vocabulary=None, lowercase=None, allow_gelu_change=False):
    """Raises `presets.UnsupportedCheckpoint` (or ValueError) now if
    `model.save_to_preset(..., format=format)` would refuse later, e.g. before a
    long training run that ends with the export.

    Example:
    >>> check_savable(pretrainer, "google", vocabulary="vocab.txt")  # doctest: +SKIP
    """
    if check_format(format, model) != "own":
        checkpoint = model_checkpoint(model, format, vocabulary, lowercase, with_arrays=False)
        presets.check_writable(checkpoint, format, allow_gelu_change)


def save_foreign(model, preset_dir, format, vocabulary=None, lowercase=None, overwrite=False,
                 allow_gelu_change=False):
    """Writes `model` (backbone or task) to `preset_dir` in a foreign `format`."""
    checkpoint = model_checkpoint(model, format, vocabulary, lowercase)
    presets.write_checkpoint(preset_dir, checkpoint, format, overwrite=overwrite,
                             allow_gelu_change=allow_gelu_change)
