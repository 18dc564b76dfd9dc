"""BertMultipleChoicePreprocessor: a context and its endings -> one packed
`[CLS] context [SEP] ending [SEP]` per choice (SWAG)."""

import keras
import tensorflow as tf

from keras_bert_repro.text.packing import pack_segments
from keras_bert_repro.text.preprocessor import BertPreprocessor
from keras_bert_repro.text.tf_layer import to_string_tensor


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class BertMultipleChoicePreprocessor(BertPreprocessor):
    """`(contexts, endings)` -> backbone inputs `[batch, num_choices, length]`.

    `contexts` are `[batch]` strings and `endings` `[batch, num_choices]` strings
    (or one context and its `[num_choices]` endings). Each choice is packed as the
    sentence pair `[CLS] context [SEP] ending [SEP]`, truncated like one (from the
    end of the longer segment). With `pad_to_multiple_of`, a batch is padded to
    its longest choice rounded up. Runs eagerly on any backend and in `tf.data`.

    Example:
    >>> pre = BertMultipleChoicePreprocessor.from_preset("/path/to/model",  # doctest: +SKIP
    ...                                                  sequence_length=80)
    >>> pre((["A man sits down."], [["He eats.", "He flies.", "He sleeps.", "He runs."]]))[
    ...     "token_ids"].shape  # doctest: +SKIP
    (1, 4, 80)
    """

    def eager_inputs(self, x):
        return None  # eager calls run op by op, so bad shapes get `call`'s errors

    def call(self, x):
        if not (isinstance(x, (tuple, list)) and len(x) == 2):
            raise ValueError("BertMultipleChoicePreprocessor takes a pair (contexts, endings): "
                             "[batch] strings and [batch, num_choices] strings.")
        contexts = to_string_tensor(x[0], name="contexts")
        endings = to_string_tensor(x[1], name="endings")
        scalar = contexts.shape.rank == 0
        if scalar:
            contexts, endings = contexts[None], endings[None]
        if isinstance(endings, tf.RaggedTensor) or contexts.shape.rank != 1 \
                or endings.shape.rank != 2:
            raise ValueError(
                "Multiple choice needs contexts [batch] and endings [batch, num_choices] with "
                f"the same number of endings per example; got contexts of rank "
                f"{contexts.shape.rank} and endings of shape {endings.shape}.")
        batch = tf.shape(contexts)[0]
        num_choices = endings.shape[1] if endings.shape[1] is not None else tf.shape(endings)[1]
        with tf.control_dependencies([tf.debugging.assert_equal(
                tf.shape(endings)[0], batch,
                message="contexts and endings hold different numbers of examples")]):
            flat_endings = tf.reshape(endings, [-1])
        # Tokenize each context once, then repeat it for each of its choices.
        context_ids = tf.gather(self.tokenizer.call(contexts),
                                tf.repeat(tf.range(batch), num_choices))
        packed = pack_segments([context_ids, self.tokenizer.call(flat_endings)],
                               self.sequence_length, self.tokenizer.cls_token_id,
                               self.tokenizer.sep_token_id, self.tokenizer.pad_token_id,
                               pad_to=self.pad_to_multiple_of)
        out = {k: tf.reshape(v, tf.stack([batch, num_choices, tf.shape(v)[1]]))
               for k, v in packed.items()}
        if not scalar and isinstance(num_choices, int):
            out = {k: tf.ensure_shape(v, [None, num_choices, None]) for k, v in out.items()}
        return {k: v[0] for k, v in out.items()} if scalar else out
