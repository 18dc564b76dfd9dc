"""Hugging Face BERT directories: `config.json` + `model.safetensors` (or `.bin`)."""

import json
import os
import re

import numpy as np

from keras_bert_repro.presets.checkpoint import CLASSIFIER_WEIGHTS, SQUAD_WEIGHTS

HF_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
# HF's names for BERT's activation; Google's "gelu" was the tanh form, HF's is exact.
_HF_ACTIVATIONS = {
    "gelu": "gelu",
    "gelu_python": "gelu",
    "gelu_new": "gelu_approximate",
    "gelu_pytorch_tanh": "gelu_approximate",
    "gelu_fast": "gelu_approximate",
}

# HF BertForPreTraining's head tensors: (Google name, transpose). HF Linear weights
# are [out, in]; its NSP weight is [2, hidden] as Google's. The decoder weight is
# the tied word embedding, so it is not read.
HF_HEAD_NAMES = {
    "cls.predictions.transform.dense.weight": ("cls/predictions/transform/dense/kernel", True),
    "cls.predictions.transform.dense.bias": ("cls/predictions/transform/dense/bias", False),
    "cls.predictions.transform.LayerNorm.weight": ("cls/predictions/transform/LayerNorm/gamma",
                                                   False),
    "cls.predictions.transform.LayerNorm.bias": ("cls/predictions/transform/LayerNorm/beta",
                                                 False),
    "cls.predictions.bias": ("cls/predictions/output_bias", False),
    "cls.predictions.decoder.bias": ("cls/predictions/output_bias", False),
    "cls.seq_relationship.weight": ("cls/seq_relationship/output_weights", False),
    "cls.seq_relationship.bias": ("cls/seq_relationship/output_bias", False),
}


ARCHITECTURES = {
    "backbone": "BertModel",
    "pretraining": "BertForPreTraining",
    "masked_lm": "BertForMaskedLM",
    "sequence_classification": "BertForSequenceClassification",
    "token_classification": "BertForTokenClassification",
    "question_answering": "BertForQuestionAnswering",
    "multiple_choice": "BertForMultipleChoice",
}
# The task heads' Google names -> HF names; HF's Linear weight is [out, in], as
# Google's output_weights already are. The pre-training heads are HF_HEAD_NAMES
# read the other way (the MLM decoder weight is tied to the word embeddings).
HF_TASK_HEAD_NAMES = {
    CLASSIFIER_WEIGHTS[0]: "classifier.weight",
    CLASSIFIER_WEIGHTS[1]: "classifier.bias",
    SQUAD_WEIGHTS[0]: "qa_outputs.weight",
    SQUAD_WEIGHTS[1]: "qa_outputs.bias",
}

def is_hf_dir(path):
    config = os.path.join(path, "config.json")
    if not os.path.isfile(config):
        return False
    with open(config, encoding="utf-8") as f:
        data = json.load(f)
    return "num_hidden_layers" in data and "hidden_size" in data


def hf_config_to_backbone(data, source):
    """Maps an HF (or Google) `config.json` to BertBackbone arguments."""
    act = data.get("hidden_act", "gelu")
    if act not in _HF_ACTIVATIONS:
        raise ValueError(f"{source}: hidden_act={act!r} is not a GELU that BERT uses.")
    model_type = data.get("model_type", "bert")
    if model_type != "bert":
        raise ValueError(f"{source}: model_type={model_type!r}; only 'bert' is supported.")
    hidden_dropout = data.get("hidden_dropout_prob", 0.1)
    return {
        "vocabulary_size": data["vocab_size"],
        "num_layers": data["num_hidden_layers"],
        "num_heads": data["num_attention_heads"],
        "hidden_dim": data["hidden_size"],
        "intermediate_dim": data["intermediate_size"],
        "max_sequence_length": data.get("max_position_embeddings", 512),
        "num_segments": data.get("type_vocab_size", 2),
        "dropout": hidden_dropout,
        "attention_dropout": data.get("attention_probs_dropout_prob", hidden_dropout),
        "activation": _HF_ACTIVATIONS[act],
    }


def read_hf_config(path):
    file = os.path.join(path, "config.json")
    with open(file, encoding="utf-8") as f:
        return hf_config_to_backbone(json.load(f), file)


def read_hf_tensors(path):
    """`({tensor_name: ndarray}, file)`: every tensor of an HF directory, under HF's names."""
    for name in HF_WEIGHT_FILES:
        file = os.path.join(path, name)
        if not os.path.isfile(file):
            continue
        if name.endswith(".safetensors"):
            from safetensors.numpy import load_file

            return load_file(file), file
        try:
            import torch
        except ImportError:
            raise ImportError(
                f"{file} is a PyTorch pickle; reading it needs torch "
                "(pip install 'keras_bert_repro[torch]'), or convert it to safetensors."
            ) from None
        state = torch.load(file, map_location="cpu", weights_only=True)
        return {k: v.float().numpy() for k, v in state.items()}, file
    raise FileNotFoundError(
        f"{path} has config.json but none of {HF_WEIGHT_FILES}: no HF weights to load."
    )


def hf_name_to_google(name):
    """`(google_name, transpose)` for one HF tensor name, or None if not BERT's.

    `bert.encoder.layer.3.attention.self.query.weight` ->
    `bert/encoder/layer_3/attention/self/query/kernel`, transposed (HF's Linear
    stores `[out, in]`). Works with or without the `bert.` prefix.
    """
    if name.startswith("bert."):
        name = name[len("bert."):]
    if not name.startswith(("embeddings.", "encoder.", "pooler.")):
        return None
    name = re.sub(r"layer\.(\d+)", r"layer_\1", name)
    parts = name.split(".")
    leaf = parts[-1]
    path = "bert/" + "/".join(parts[:-1])
    if "LayerNorm" in parts[-2]:
        return path + "/" + {"weight": "gamma", "bias": "beta"}.get(leaf, leaf), False
    if parts[-2].endswith("_embeddings"):
        return path, False
    return path + "/" + {"weight": "kernel"}.get(leaf, leaf), leaf == "weight"


def google_name_to_hf(name):
    """`(hf_name, transpose)` for one `bert/*` name: the inverse of `hf_name_to_google`,
    under HF's `bert.` prefix (`BertModel` itself saves without it)."""
    parts = name.split("/")
    if parts[0] != "bert":
        raise ValueError(f"{name!r} is not a backbone weight (bert/*).")
    parts = [re.sub(r"^layer_(\d+)$", r"layer.\1", part) for part in parts]
    leaf = parts[-1]
    if parts[-2] == "LayerNorm":
        return ".".join(parts[:-1] + [{"gamma": "weight", "beta": "bias"}[leaf]]), False
    if leaf.endswith("_embeddings"):
        return ".".join(parts + ["weight"]), False
    return ".".join(parts[:-1] + [{"kernel": "weight"}.get(leaf, leaf)]), leaf == "kernel"


def read_hf_weights(path):
    """Returns `({google_name: ndarray}, source_file)` for an HF directory."""
    tensors, file = read_hf_tensors(path)
    arrays = {}
    for name, value in tensors.items():
        mapped = hf_name_to_google(name)
        if mapped is None:
            continue
        google_name, transpose = mapped
        arrays[google_name] = np.asarray(value).T if transpose else np.asarray(value)
    return arrays, file


def read_hf_head_weights(path):
    """`({google_name: ndarray}, source_file)` for the pre-training heads (`cls.*`) of
    an HF `BertForPreTraining` directory; empty when it has none."""
    tensors, file = read_hf_tensors(path)
    arrays = {}
    for hf_name, (name, transpose) in HF_HEAD_NAMES.items():
        if hf_name in tensors:
            value = np.asarray(tensors[hf_name])
            arrays[name] = value.T if transpose else value
    return arrays, file


def read_hf_task_head(path):
    """`(task, {google_name: ndarray}, label_names, file)` for the fine-tuning head of
    an HF `BertFor*` directory (`classifier.*`, `qa_outputs.*`); task None without one.
    `label_names` from `id2label` when it names the labels (not HF's `LABEL_0`...)."""
    with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    task = {cls: name for name, cls in ARCHITECTURES.items()}.get(
        (config.get("architectures") or [None])[0])
    if task is None or task in ("backbone", "pretraining", "masked_lm"):
        return None, {}, None, path
    tensors, file = read_hf_tensors(path)
    arrays = {google: np.asarray(tensors[hf]) for google, hf in HF_TASK_HEAD_NAMES.items()
              if hf in tensors}
    id2label = config.get("id2label") or {}
    names = [id2label.get(str(i), id2label.get(i)) for i in range(len(id2label))]
    default = [f"LABEL_{i}" for i in range(len(names))]
    label_names = names if names and None not in names and names != default else None
    return task, arrays, label_names, file
