"""One reader over every preset layout: a name or directory in, config and arrays out.

`resolve_preset` turns a registry name into a local directory, `detect_format`
names its layout, and the `read_*` functions return plain data (a config dict,
`{google_name: ndarray}` arrays, file paths) that `models/` builds from.
"""

import dataclasses
import os

from keras_bert_repro.presets import google, hf, keras_hub, own
from keras_bert_repro.presets.download import fetch
from keras_bert_repro.presets.errors import reading
from keras_bert_repro.presets.file_io import finish_replace
from keras_bert_repro.presets.registry import get_preset

OWN_FORMAT = "keras_bert_repro"
FORMATS = (OWN_FORMAT, "keras_hub", "hf", "google")


@dataclasses.dataclass(frozen=True)
class BackboneWeights:
    """A preset's backbone weights: `arrays` (`{google_name: ndarray}`, Google's TF1
    names and shapes) for the foreign layouts, or `keras_weights_file` for this
    library's own, whose Keras weights file the backbone loads itself. `source`
    names the file read, for error messages."""

    source: str
    arrays: dict | None = None
    keras_weights_file: str | None = None


def resolve_preset(preset):
    """Returns the local directory for a preset name or path."""
    if not isinstance(preset, (str, os.PathLike)):
        raise TypeError(f"preset must be a name or a directory, got {type(preset).__name__}.")
    path = os.fspath(preset)
    if os.path.isdir(path):
        try:
            finish_replace(path)  # a checkpoint write a kill interrupted
        except OSError:
            pass  # read-only: read what is there
        return path
    if os.path.sep in path or path.startswith("."):
        raise FileNotFoundError(f"Preset directory {path!r} does not exist.")
    return fetch(get_preset(path))


def detect_format(path):
    """Names the layout of the preset directory `path` (one of `FORMATS`), or raises
    naming what it holds."""
    with reading(os.path.join(path, "config.json"), "a JSON config"):
        if own.is_own_dir(path):
            return OWN_FORMAT
        if keras_hub.is_keras_hub_dir(path):
            return "keras_hub"
        if hf.is_hf_dir(path):
            return "hf"
    if google.is_google_dir(path):
        return "google"
    raise ValueError(
        f"{path} is not a BERT preset directory I recognise; it holds "
        f"{sorted(os.listdir(path))[:12]}. Expected one of: Google's release "
        "(bert_config.json + bert_model.ckpt.index/.data-*), an HF directory "
        "(config.json + model.safetensors), a keras-hub BERT preset (config.json + "
        "model.weights.h5), or a directory written by BertBackbone.save_to_preset."
    )


def read_backbone_config(path, fmt=None):
    """BertBackbone arguments for the preset directory `path`."""
    fmt = fmt or detect_format(path)
    file = os.path.join(path, "bert_config.json" if fmt == "google" else "config.json")
    with reading(file, "the model's JSON config"):
        config = {
            OWN_FORMAT: own.read_own_config,
            "keras_hub": keras_hub.read_keras_hub_config,
            "hf": hf.read_hf_config,
            "google": google.read_google_config,
        }[fmt](path)
        _check_sizes(config)
    return config


def _check_sizes(config):
    """The sizes a backbone is built from: positive integers, heads dividing the width."""
    for key in ("vocabulary_size", "num_layers", "num_heads", "hidden_dim",
                "intermediate_dim", "max_sequence_length"):
        value = config.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{key} is {value!r}, not a positive integer")
    if config["hidden_dim"] % config["num_heads"]:
        raise ValueError(f"hidden_dim={config['hidden_dim']} is not a multiple of "
                         f"num_heads={config['num_heads']}")


def read_backbone_weights(path, fmt=None):
    """The `BackboneWeights` of the preset directory `path`."""
    fmt = fmt or detect_format(path)
    if fmt == OWN_FORMAT:
        file = own.own_weights_file(path)
        return BackboneWeights(source=file, keras_weights_file=file)
    reader = {
        "keras_hub": keras_hub.read_keras_hub_weights,
        "hf": hf.read_hf_weights,
        "google": google.read_google_weights,
    }[fmt]
    with reading(_weights_file(path, fmt), f"{fmt} weights"):
        arrays, source = reader(path)
    return BackboneWeights(source=source, arrays=arrays)


def _weights_file(path, fmt):
    """The weights file (or checkpoint prefix) a foreign preset keeps, for messages."""
    if fmt == "hf":
        present = [n for n in hf.HF_WEIGHT_FILES if os.path.isfile(os.path.join(path, n))]
        return os.path.join(path, present[0] if present else hf.HF_WEIGHT_FILES[0])
    if fmt == "google":
        return google.find_checkpoint(path) or os.path.join(path, "bert_model.ckpt")
    return os.path.join(path, keras_hub.WEIGHTS_FILE)


def read_head_weights(path, fmt=None):
    """`({google_name: ndarray}, source)` for the pre-training heads (`cls/*`) that
    the preset directory `path` holds: Google's TF1 checkpoints and HF
    `BertForPreTraining` directories have them; other layouts give `{}`."""
    fmt = fmt or detect_format(path)
    if fmt not in ("google", "hf"):
        return {}, path
    with reading(_weights_file(path, fmt), f"{fmt} weights"):
        if fmt == "google":
            return google.read_google_head_weights(path)
        return hf.read_hf_head_weights(path)


@dataclasses.dataclass(frozen=True)
class TaskHead:
    """A fine-tuning head a preset holds: `task` (one of `checkpoint.TASKS`, None when
    the preset has none), its `arrays` under Google's names (`output_weights`
    `[labels, hidden]`, `output_bias`, or `cls/squad/*`), the `label_names` the
    layout records (HF's `id2label`), and the `source` file."""

    task: str | None
    arrays: dict
    label_names: list | None
    source: str


def read_task_head(path, fmt=None):
    """The `TaskHead` of the preset directory `path`: HF `BertFor*` classes, keras-hub
    `BertTextClassifier` presets and Google `run_classifier.py` / `run_squad.py`
    checkpoints have one; other presets give `TaskHead(None, {}, None, path)`."""
    fmt = fmt or detect_format(path)
    reader = {"hf": hf.read_hf_task_head, "keras_hub": keras_hub.read_keras_hub_task_head,
              "google": google.read_google_task_head}.get(fmt)
    if reader is None:
        return TaskHead(None, {}, None, path)
    with reading(_weights_file(path, fmt), f"{fmt} weights"):
        return TaskHead(*reader(path))
