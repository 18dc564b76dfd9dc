"""Sentence(-pair) classification serving: `text` (and `text_pair`) -> logits and
probabilities (regression: a score)."""

import tensorflow as tf

from keras_bert_repro.export.serving import Serving, ids_spec, vocabulary_of


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
