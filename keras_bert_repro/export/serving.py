"""What every task's serving functions share: the `Serving` record an export
writes, and the signature of the ids inputs."""

import dataclasses
from typing import Callable

import tensorflow as tf

from keras_bert_repro.models.backbone import INPUT_NAMES


@dataclasses.dataclass
class Serving:
    """The two signature functions of one task, and what the export writes beside them."""

    text: Callable  # a tf.function with an input signature, on strings
    ids: Callable  # the same on token ids
    vocabulary: list
    warmup_inputs: Callable  # sample texts -> {input name: nested lists of strings}


def ids_spec(rank=2, num_choices=None):
    shape = [None, None] if rank == 2 else [None, num_choices, None]
    return {name: tf.TensorSpec(shape, tf.int32, name=name) for name in INPUT_NAMES}


def vocabulary_of(task):
    return task.preprocessor.tokenizer.vocabulary if task.preprocessor is not None else []
