"""This library's own preset layout: `config.json` + `model.weights.h5` + `vocab.txt`."""

import json
import os

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
VOCAB_FILE = "vocab.txt"
REGISTERED_NAME = "keras_bert_repro>BertBackbone"


def is_own_dir(path):
    return _registered_name(path) == REGISTERED_NAME


def _registered_name(path):
    file = os.path.join(path, CONFIG_FILE)
    if not os.path.isfile(file):
        return None
    with open(file, encoding="utf-8") as f:
        return json.load(f).get("registered_name")


def read_own_config(path):
    with open(os.path.join(path, CONFIG_FILE), encoding="utf-8") as f:
        return json.load(f)["config"]


def save_backbone(backbone, preset_dir, vocabulary=None):
    """Writes `backbone` as a preset directory; `vocabulary` is a list of tokens
    or the path of a `vocab.txt`."""
    import keras_bert_repro

    os.makedirs(preset_dir, exist_ok=True)
    config = {k: v for k, v in backbone.get_config().items()
              if k not in ("name", "trainable", "dtype")}
    with open(os.path.join(preset_dir, CONFIG_FILE), "w", encoding="utf-8") as f:
        json.dump({
            "registered_name": REGISTERED_NAME,
            "config": config,
            "keras_bert_repro_version": keras_bert_repro.__version__,
        }, f, indent=2)
    backbone.save_weights(os.path.join(preset_dir, WEIGHTS_FILE))
    if vocabulary is not None:
        if isinstance(vocabulary, str):
            with open(vocabulary, encoding="utf-8") as f:
                vocabulary = [line.rstrip("\n") for line in f]
        with open(os.path.join(preset_dir, VOCAB_FILE), "w", encoding="utf-8") as f:
            f.write("".join(token + "\n" for token in vocabulary))
