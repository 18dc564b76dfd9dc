"""This library's own preset layout: `config.json` + `model.weights.h5` + `vocab.txt`.

The weights file is Keras' `save_weights` output, which the backbone reads back
itself (`BertBackbone.from_preset`); this module reads and writes the rest.
"""

import os

from keras_bert_repro.presets.file_io import write_json, write_tokens
from keras_bert_repro.presets.keras_config import CONFIG_FILE, read_keras_config, registered_name
from keras_bert_repro.version import __version__

WEIGHTS_FILE = "model.weights.h5"
VOCAB_FILE = "vocab.txt"
REGISTERED_NAME = "keras_bert_repro>BertBackbone"


def is_own_dir(path):
    return registered_name(path) == REGISTERED_NAME


def read_own_config(path):
    return read_keras_config(path)


def own_weights_file(path):
    """Where the Keras weights of the preset directory `path` are (or go)."""
    return os.path.join(path, WEIGHTS_FILE)


def write_own_config(preset_dir, config):
    """Writes `config` (BertBackbone arguments) as the preset's `config.json`."""
    write_json(os.path.join(preset_dir, CONFIG_FILE),
               {"registered_name": REGISTERED_NAME, "config": config,
                "keras_bert_repro_version": __version__})


def write_vocabulary(preset_dir, vocabulary):
    """Writes `vocab.txt`; `vocabulary` is a list of tokens or the path of a `vocab.txt`."""
    if isinstance(vocabulary, (str, os.PathLike)):
        with open(vocabulary, encoding="utf-8") as f:
            vocabulary = [line.rstrip("\n") for line in f]
    write_tokens(os.path.join(preset_dir, VOCAB_FILE), vocabulary)
