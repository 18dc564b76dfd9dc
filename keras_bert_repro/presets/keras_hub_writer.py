"""Writes a keras-hub BERT preset: `keras_hub.models.BertBackbone.from_preset(path)`
(and `BertTextClassifier.from_preset` for a sentence classifier) load it unchanged.

Files: `config.json`, `model.weights.h5`, `tokenizer.json`,
`assets/tokenizer/vocabulary.txt`, `metadata.json`; a classifier adds `task.json`,
`task.weights.h5` and `preprocessor.json`. Written with h5py and json, so neither
keras-hub nor Keras is needed to write one.
"""

import datetime
import os

import h5py
import numpy as np

from keras_bert_repro.presets.checkpoint import CLASSIFIER_WEIGHTS
from keras_bert_repro.presets.file_io import write_json, write_tokens
from keras_bert_repro.presets.keras_hub import (
    HEAD_KEYS, TASK_FILE, TASK_WEIGHTS_FILE, WEIGHTS_FILE, keras_hub_names, to_keras_hub_shape)
from keras_bert_repro.version import __version__

TASKS = ("backbone", "sequence_classification")
_MODULE = "keras_hub.src.models.bert."


def _float32():
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
            "registered_name": None}


def _serialized(module, class_name, config):
    return {"module": _MODULE + module, "class_name": class_name, "config": config,
            "registered_name": "keras_hub>" + class_name}


def backbone_json(checkpoint):
    config = checkpoint.config
    # keras-hub has one rate for both; dropout does not change what a model computes.
    keys = ("vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim",
            "dropout", "max_sequence_length", "num_segments")
    return _serialized("bert_backbone", "BertBackbone", {
        "name": "bert_backbone", "trainable": True, "dtype": _float32(),
        **{key: config[key] for key in keys}})


def tokenizer_json(checkpoint):
    return _serialized("bert_tokenizer", "BertTokenizer", {
        "name": "bert_tokenizer", "trainable": True,
        "dtype": {**_float32(), "config": {"name": "int32"}},
        "config_file": "tokenizer.json", "vocabulary": None, "sequence_length": None,
        "lowercase": checkpoint.lowercase,
        # Uncased BERT strips accents as it lower-cases (Google's BasicTokenizer).
        "strip_accents": checkpoint.lowercase, "split": True,
        "suffix_indicator": "##", "oov_token": "[UNK]", "special_tokens": None,
        "special_tokens_in_strings": False})


def preprocessor_json(checkpoint):
    return _serialized("bert_text_classifier_preprocessor", "BertTextClassifierPreprocessor", {
        "name": "bert_text_classifier_preprocessor", "trainable": True, "dtype": _float32(),
        "tokenizer": tokenizer_json(checkpoint), "config_file": "preprocessor.json",
        # keras-hub pads every input to this length: never past the position table.
        "sequence_length": min(checkpoint.sequence_length or 512,
                               checkpoint.config["max_sequence_length"]),
        "truncate": "round_robin"})


def task_json(checkpoint):
    return _serialized("bert_text_classifier", "BertTextClassifier", {
        "backbone": backbone_json(checkpoint), "preprocessor": preprocessor_json(checkpoint),
        "name": "bert_text_classifier", "num_classes": checkpoint.num_labels,
        "activation": "linear", "dropout": checkpoint.head_dropout})


def write_keras_hub(directory, checkpoint):
    """Writes `checkpoint` (a backbone or a sentence classifier) into the (new, empty)
    `directory` as a keras-hub preset."""
    config = checkpoint.config
    with h5py.File(os.path.join(directory, WEIGHTS_FILE), "w") as h5:
        for name, key, kind in keras_hub_names(config["num_layers"]):
            h5.create_dataset(key, data=to_keras_hub_shape(
                np.asarray(checkpoint.arrays[name], np.float32), kind, config["num_heads"]))
    write_json(os.path.join(directory, "config.json"), backbone_json(checkpoint))
    write_json(os.path.join(directory, "tokenizer.json"), tokenizer_json(checkpoint))
    write_tokens(os.path.join(directory, "assets", "tokenizer", "vocabulary.txt"),
                 checkpoint.vocabulary)
    tasks = ["MaskedLM", "TextClassifier", "TextEmbedder"]
    if checkpoint.task == "sequence_classification":
        weights, bias = (np.asarray(checkpoint.arrays[n], np.float32) for n in CLASSIFIER_WEIGHTS)
        with h5py.File(os.path.join(directory, TASK_WEIGHTS_FILE), "w") as h5:
            # keras-hub's "logits" Dense, [hidden, classes]; Google's is [classes, hidden].
            h5.create_dataset(HEAD_KEYS[0], data=weights.T)
            h5.create_dataset(HEAD_KEYS[1], data=bias)
            # The state of the Adam that keras-hub's default compile() builds
            # (iterations, learning rate), so that loading does not warn it is missing.
            h5.create_dataset("optimizer/vars/0", data=np.int32(0))
            h5.create_dataset("optimizer/vars/1", data=np.float32(5e-5))
        write_json(os.path.join(directory, TASK_FILE), task_json(checkpoint))
        write_json(os.path.join(directory, "preprocessor.json"), preprocessor_json(checkpoint))
    write_json(os.path.join(directory, "metadata.json"), {
        "keras_version": None, "keras_hub_version": None,
        "written_by": f"keras_bert_repro {__version__}",
        "parameter_count": int(sum(np.size(a) for a in checkpoint.arrays.values())),
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
        "tasks": tasks})

