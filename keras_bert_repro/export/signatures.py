"""What each task's SavedModel signatures take and return.

Every export has `serving_default` on raw strings (tokenization in the graph)
and `serving_ids` on `token_ids`, `segment_ids`, `padding_mask` (int32
`[batch, length]`; multiple choice `[batch, num_choices, length]`). Every input
and output has the batch first, so TF Serving's REST row format
(`{"instances": [{"text": ...}, ...]}`) and its gRPC `Predict` both work.

- `BertClassifier`, `BertFeatureClassifier`: `text` `[B]` (and `text_pair` `[B]`)
  -> `logits`, `probabilities` `[B, C]` (regression: `score` `[B]`);
- `BertTokenClassifier`: `text` `[B]` -> words, per-word labels and entities
  (see `token_classification`);
- `BertQuestionAnswerer`: `question`, `context` `[B]` -> `answer`, `start`, `end`,
  `score` `[B]` (see `question_answering`);
- `BertMultipleChoice`: `context` `[B]`, `endings` `[B, C]` -> `logits`,
  `probabilities` `[B, C]`, `choice` `[B]`.

`serving_ids` returns the model's raw outputs: `logits` (and `probabilities`)
for classifiers and multiple choice; `logits` `[B, L, C]` and `label_ids`
`[B, L]` per piece for token classification; `start_logits`, `end_logits`
`[B, L]` for question answering.
"""

import dataclasses
from typing import Callable

import tensorflow as tf

from keras_bert_repro.models import (
    BertClassifier, BertFeatureClassifier, BertMultipleChoice, BertQuestionAnswerer,
    BertTokenClassifier)

IDS = ("token_ids", "segment_ids", "padding_mask")


@dataclasses.dataclass
class Serving:
    """The two signature functions of one task, and what the export writes beside them."""

    text: Callable  # a tf.function with an input signature, on strings
    ids: Callable  # the same on token ids
    vocabulary: list
    warmup_inputs: Callable  # sample texts -> {input name: nested lists of strings}


def check_task(task, pairs, label_names, text=True):
    """Raises on a task the export cannot serve; returns the token classifier's
    label names (None for other tasks). `text`: a text signature is exported."""
    if isinstance(task, BertTokenClassifier):
        from keras_bert_repro.export.token_classification import default_label_names

        return default_label_names(task, label_names, required=text)
    if label_names is not None:
        raise ValueError("label_names is for token classifiers only.")
    if pairs and not isinstance(task, (BertClassifier, BertFeatureClassifier)):
        raise ValueError(f"pairs=True is for sentence-pair classifiers, not "
                         f"{type(task).__name__}.")
    if not isinstance(task, (BertClassifier, BertFeatureClassifier, BertQuestionAnswerer,
                             BertMultipleChoice)):
        raise TypeError(f"Cannot export {type(task).__name__}: export takes BertClassifier, "
                        "BertFeatureClassifier, BertTokenClassifier, BertQuestionAnswerer or "
                        "BertMultipleChoice.")
    return None


def serving_functions(task, pairs=False, label_names=None):
    """The `Serving` of `task`; the text function needs `task.preprocessor`."""
    if isinstance(task, BertTokenClassifier):
        from keras_bert_repro.export.token_classification import token_classification

        return token_classification(task, label_names)
    if isinstance(task, BertQuestionAnswerer):
        from keras_bert_repro.export.question_answering import question_answering

        return question_answering(task)
    if isinstance(task, BertMultipleChoice):
        return multiple_choice(task)
    return classification(task, pairs)


def ids_spec(rank=2, num_choices=None):
    shape = [None, None] if rank == 2 else [None, num_choices, None]
    return {name: tf.TensorSpec(shape, tf.int32, name=name) for name in IDS}


def vocabulary_of(task):
    return task.preprocessor.tokenizer.vocabulary if task.preprocessor is not None else []


def classification(task, pairs):
    regression = task.num_classes == 1
    preprocessor = task.preprocessor

    def outputs(logits):
        logits = tf.cast(logits, tf.float32)
        if regression:
            return {"score": logits[:, 0]}
        return {"logits": logits, "probabilities": tf.nn.softmax(logits, axis=-1)}

    @tf.function(autograph=False, input_signature=[ids_spec()])
    def serve_ids(inputs):
        return outputs(task(inputs, training=False))

    text_spec = tf.TensorSpec([None], tf.string, name="text")
    if pairs:
        @tf.function(autograph=False, input_signature=[
            text_spec, tf.TensorSpec([None], tf.string, name="text_pair")])
        def serve_text(text, text_pair):
            return outputs(task(preprocessor.call((text, text_pair)), training=False))
    else:
        @tf.function(autograph=False, input_signature=[text_spec])
        def serve_text(text):
            return outputs(task(preprocessor.call(text), training=False))

    def warmup(texts):
        return {"text": texts, "text_pair": texts[::-1]} if pairs else {"text": texts}

    return Serving(serve_text, serve_ids, vocabulary_of(task), warmup)


def multiple_choice(task):
    num_choices = task.num_choices
    preprocessor = task.preprocessor

    def outputs(logits):
        logits = tf.cast(logits, tf.float32)
        return {"logits": logits, "probabilities": tf.nn.softmax(logits, axis=-1),
                "choice": tf.argmax(logits, axis=-1, output_type=tf.int32)}

    @tf.function(autograph=False, input_signature=[ids_spec(rank=3, num_choices=num_choices)])
    def serve_ids(inputs):
        return outputs(task(inputs, training=False))

    @tf.function(autograph=False,
                 input_signature=[tf.TensorSpec([None], tf.string, name="context"),
                                  tf.TensorSpec([None, num_choices], tf.string, name="endings")])
    def serve_text(context, endings):
        return outputs(task(preprocessor.call((context, endings)), training=False))

    def warmup(texts):
        return {"context": texts,
                "endings": [[texts[(i + j) % len(texts)] for j in range(1, num_choices + 1)]
                            for i in range(len(texts))]}

    return Serving(serve_text, serve_ids, vocabulary_of(task), warmup)
