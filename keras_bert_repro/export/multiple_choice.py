"""Multiple-choice serving: a context and its endings -> logits, probabilities and
the chosen ending."""

import tensorflow as tf

from keras_bert_repro.export.serving import Serving, ids_spec, vocabulary_of


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
