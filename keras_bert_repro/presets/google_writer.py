"""Writes Google's original layout: `bert_config.json`, `vocab.txt` and a TF1
name-based checkpoint `bert_model.ckpt.{index,data-00000-of-00001}`.

The variables are under the names Google's `modeling.py`, `run_classifier.py` and
`run_squad.py` create (`bert/...`, `cls/...`, `output_weights`), so those scripts,
HF's `load_tf_weights_in_bert` and this library's loader read it. TensorFlow
writes the checkpoint, whatever Keras backend built the model.
"""

import os

import numpy as np

from keras_bert_repro.presets.file_io import write_json, write_tokens

TASKS = ("backbone", "pretraining", "masked_lm", "sequence_classification",
         "question_answering")
CHECKPOINT_PREFIX = "bert_model.ckpt"


def google_config(checkpoint):
    """`bert_config.json`: Google's modeling.py names its tanh GELU `"gelu"`."""
    config = checkpoint.config
    return {
        "attention_probs_dropout_prob": config["attention_dropout"],
        "hidden_act": "gelu",
        "hidden_dropout_prob": config["dropout"],
        "hidden_size": config["hidden_dim"],
        "initializer_range": 0.02,
        "intermediate_size": config["intermediate_dim"],
        "max_position_embeddings": config["max_sequence_length"],
        "num_attention_heads": config["num_heads"],
        "num_hidden_layers": config["num_layers"],
        "type_vocab_size": config["num_segments"],
        "vocab_size": config["vocabulary_size"],
    }


def write_google(directory, checkpoint):
    """Writes `checkpoint` into the (new, empty) `directory` in Google's layout."""
    import tensorflow as tf  # only this format needs it; HF and keras-hub writes do not

    names = sorted(checkpoint.arrays)
    with tf.device("/cpu:0"):
        tf.raw_ops.SaveV2(
            prefix=os.path.join(directory, CHECKPOINT_PREFIX), tensor_names=names,
            shape_and_slices=[""] * len(names),
            tensors=[tf.constant(np.asarray(checkpoint.arrays[n], np.float32)) for n in names])
    write_json(os.path.join(directory, "bert_config.json"), google_config(checkpoint))
    write_tokens(os.path.join(directory, "vocab.txt"), checkpoint.vocabulary)
