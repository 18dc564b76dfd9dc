"""This library's own preset layout: `config.json` + `model.weights.h5` + `vocab.txt`,
and for a task also `task.json` + `task.weights.h5`.

The weights file is Keras' `save_weights` output, which the backbone reads back
itself (`BertBackbone.from_preset`); this module reads and writes the rest. A
task's files hold its arguments, its preprocessor's, and its head's arrays by
variable path, so `Task.from_preset(dir)` rebuilds the fine-tuned model.
"""

import json
import os

from keras_bert_repro.presets.errors import reading
from keras_bert_repro.presets.file_io import read_arrays, write_arrays, write_json, write_tokens
from keras_bert_repro.presets.keras_config import CONFIG_FILE, read_keras_config, registered_name
from keras_bert_repro.version import __version__

WEIGHTS_FILE = "model.weights.h5"
TASK_FILE = "task.json"
TASK_WEIGHTS_FILE = "task.weights.h5"
VOCAB_FILE = "vocab.txt"
REGISTERED_NAME = "keras_bert_repro>BertBackbone"


def is_own_dir(path):
    return registered_name(path) == REGISTERED_NAME


def read_own_config(path):
    return read_keras_config(path)


def own_weights_file(path):
    """Where the Keras weights of the preset directory `path` are (or go)."""
    return os.path.join(path, WEIGHTS_FILE)


def own_weights_dtypes(file):
    """`{dataset path: numpy dtype}` of a Keras weights file (checked before loading:
    Keras would cast integers into float variables without a word)."""
    with reading(file, "this model's Keras weights"):
        return read_arrays(file, value=lambda dataset: dataset.dtype)


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


def write_own_task(preset_dir, registered_name, config, preprocessor, arrays):
    """Writes a task's `task.json` (its `registered_name`, its arguments but the
    backbone, its preprocessor's arguments but the tokenizer) and `task.weights.h5`
    (`{variable path: array}` of the head)."""
    write_arrays(os.path.join(preset_dir, TASK_WEIGHTS_FILE), arrays)
    write_json(os.path.join(preset_dir, TASK_FILE),
               {"registered_name": registered_name, "config": config,
                "preprocessor": preprocessor, "keras_bert_repro_version": __version__})


def read_own_task(path):
    """`task.json` of the preset directory `path` as a dict, with the head's arrays
    under `"arrays"`; None where `path` holds no task (a backbone preset, a
    foreign layout)."""
    file = os.path.join(path, TASK_FILE)
    if not os.path.isfile(file):
        return None
    with reading(file, "a task config"):
        with open(file, encoding="utf-8") as f:
            task = json.load(f)
        if not isinstance(task, dict) or "config" not in task:
            raise ValueError("no task config in it")
    weights = os.path.join(path, TASK_WEIGHTS_FILE)
    if not os.path.isfile(weights):
        raise FileNotFoundError(f"{file} has no {TASK_WEIGHTS_FILE} beside it: the task's "
                                "head weights are missing.")
    with reading(weights, "the task's head weights"):
        task["arrays"] = read_arrays(weights)
    return task
