"""Presets: the registry of released checkpoints and the loaders of every layout.

`load_backbone(preset)` is the one entry point; it recognises
- a registry name (`list_presets()`), fetched into a local cache;
- Google's original layout: `bert_config.json`, `bert_model.ckpt.*`, `vocab.txt`;
- an HF directory: `config.json` + `model.safetensors` (or `pytorch_model.bin`);
- a keras-hub BERT preset: `config.json` (keras_hub>BertBackbone) + `model.weights.h5`;
- this library's own `save_to_preset` output.
"""

import os

from keras_bert_repro.presets import google, hf, keras_hub, own
from keras_bert_repro.presets.download import PresetDownloadError
from keras_bert_repro.presets.own import save_backbone
from keras_bert_repro.presets.registry import PRESETS, Preset, get_preset, list_presets
from keras_bert_repro.presets.weight_names import assign_google_weights

# Arguments a caller may change without changing any weight's shape.
OVERRIDABLE = ("dropout", "attention_dropout", "dtype", "name", "trainable", "activation")


def resolve_preset(preset):
    """Returns the local directory for a preset name or path."""
    if not isinstance(preset, (str, os.PathLike)):
        raise TypeError(f"preset must be a name or a directory, got {type(preset).__name__}.")
    path = os.fspath(preset)
    if os.path.isdir(path):
        return path
    if os.path.sep in path or path.startswith("."):
        raise FileNotFoundError(f"Preset directory {path!r} does not exist.")
    from keras_bert_repro.presets.download import fetch

    return fetch(get_preset(path))


def detect_format(path):
    """Names the layout of the preset directory `path`, or raises naming what it holds."""
    if own.is_own_dir(path):
        return "keras_bert_repro"
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
    return {
        "keras_bert_repro": own.read_own_config,
        "keras_hub": keras_hub.read_keras_hub_config,
        "hf": hf.read_hf_config,
        "google": google.read_google_config,
    }[fmt](path)


def load_backbone(preset, **overrides):
    """Builds a `BertBackbone` from `preset` (a name or a directory) with its weights."""
    from keras_bert_repro.models.backbone import BertBackbone

    unknown = sorted(set(overrides) - set(OVERRIDABLE))
    if unknown:
        raise ValueError(
            f"from_preset cannot override {unknown}: they change weight shapes. "
            f"Allowed: {OVERRIDABLE}."
        )
    path = resolve_preset(preset)
    fmt = detect_format(path)
    config = {**read_backbone_config(path, fmt), **overrides}
    backbone = BertBackbone(**config)
    if fmt == "keras_bert_repro":
        backbone.load_weights(os.path.join(path, own.WEIGHTS_FILE))
        return backbone
    reader = {
        "keras_hub": keras_hub.read_keras_hub_weights,
        "hf": hf.read_hf_weights,
        "google": google.read_google_weights,
    }[fmt]
    arrays, source = reader(path)
    assign_google_weights(backbone, arrays, source)
    return backbone
