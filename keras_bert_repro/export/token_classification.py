"""Token classification (NER) serving: raw text -> words -> a label per word, and entities.

`serving_default` takes `text` (tf.string `[B]`). Its words are the text's
whitespace-separated tokens, exactly Python's `text.split()`, so the model sees
what `BertTokenClassifier.predict([text.split()])` sees. Outputs, padded to the
longest row of the batch (`W` words, `E` entities) so a JSON client gets plain
lists:

- `words` string `[B, W]` ("" pad), `num_words` int32 `[B]`;
- `label_ids` int32 `[B, W]` (-1 pad) and `labels` string `[B, W]` ("" pad): each
  word's label, read at its first WordPiece; a word cut off by the sequence
  length gets the label "O" (id 0 if there is no "O"), as `predict`;
- `word_logits` float32 `[B, W, num_classes]` at each word's first piece (0 for
  cut-off words and padding);
- `entity_labels` string `[B, E]` (the type, e.g. "PER"), `entity_texts` string
  `[B, E]` (the original text from the entity's first word to its last),
  `entity_starts`/`entity_ends` int32 `[B, E]` (word indices, end exclusive: the
  entity is `text.split()[start:end]`; -1 pad), `num_entities` int32 `[B]`.
  Entities follow CoNLL's `conlleval` chunk rules (`evaluation.entity_f1`), so
  IOB2 and IOB1 tags both decode.
"""

import tensorflow as tf
import tensorflow_text as tf_text

from keras_bert_repro.evaluation.entity_f1 import end_of_chunk, start_of_chunk, split_tag
from keras_bert_repro.export.serving import Serving, ids_spec, vocabulary_of
from keras_bert_repro.models.token_classifier import checked_label_names as checked_names

# The characters Python's str.split() splits on (str.isspace()).
WORD_SEPARATORS = r"[\x{09}-\x{0D}\x{1C}-\x{20}\x{85}\p{Zs}\x{2028}\x{2029}]+"


def checked_label_names(task, label_names=None, required=True):
    """The tag of each label id: `label_names` if given (an override, e.g. for a model
    saved before models kept their tags), else the model's own `label_names`.
    Without either, a text export is refused: entity decoding needs the tags, and
    guessing them would mislabel a model trained on other ones; an ids-only export
    (`required=False`) gets placeholder names."""
    label_names = label_names if label_names is not None else task.label_names
    if label_names is None:
        if not required:
            return [f"LABEL_{i}" for i in range(task.num_classes)]
        raise ValueError(
            f"This {type(task).__name__} has no label_names, so its serving signature could "
            "not name entities. Build it with label_names=[...] (the tag of each label id, "
            "e.g. data.label_names_of(train_tags)), or pass label_names= to the export.")
    label_names = checked_names(label_names)
    if len(label_names) != task.num_classes:
        raise ValueError(f"Got {len(label_names)} label_names for a model with "
                         f"{task.num_classes} labels.")
    return label_names


def split_words(text):
    """`[B]` strings -> words as Python's `str.split()`, ragged `[B, (words)]`, with
    their byte offsets."""
    # regex_split stops at a NUL; \x01 keeps the byte offsets, and the tokenizer
    # drops both, so only the split sees the difference.
    _, starts, ends = tf_text.regex_split_with_offsets(
        tf.strings.regex_replace(text, r"\x00", "\x01"), WORD_SEPARATORS)
    rows = starts.value_rowids()
    words = tf.strings.substr(tf.gather(text, rows), starts.flat_values,
                              ends.flat_values - starts.flat_values)
    return starts.with_flat_values(words), starts, ends


def chunk_tables(label_names):
    """`[L + 1, L + 1]` bool tables over (previous, current) label ids, index L being
    "O" before the first word: whether an entity starts at the current word, and
    whether one ended before it (conlleval's `startOfChunk` / `endOfChunk`)."""
    tags = [split_tag(name) for name in label_names] + [("O", "")]
    starts = [[start_of_chunk(p, c, pt, ct) for c, ct in tags] for p, pt in tags]
    ends = [[end_of_chunk(p, c, pt, ct) for c, ct in tags] for p, pt in tags]
    return starts, ends, [chunk_type for _, chunk_type in tags]


def decode_entities(label_ids, tables):
    """Ragged `[B, (words)]` label ids -> ragged entity starts, (exclusive) ends and
    types, as `entity_spans` of `evaluation.entity_f1` finds them."""
    start_table, end_table, types = (tf.constant(t) for t in tables)
    outside = len(tables[2]) - 1
    # One column past the longest row, so every word has a boundary after it.
    labels = tf.pad(label_ids.to_tensor(default_value=outside), [[0, 0], [0, 1]],
                    constant_values=outside)
    previous = tf.pad(labels[:, :-1], [[0, 0], [1, 0]], constant_values=outside)
    pairs = tf.stack([previous, labels], axis=-1)
    position = tf.broadcast_to(tf.range(tf.shape(labels)[1]), tf.shape(labels))
    inside = position < tf.cast(label_ids.row_lengths(), tf.int32)[:, None]
    starts = tf.logical_and(tf.gather_nd(start_table, pairs), inside)
    boundary = starts | tf.gather_nd(end_table, pairs) | tf.logical_not(inside)
    # An entity runs to the next boundary: the next start, end of chunk or row end.
    boundaries = tf.sort(tf.where(boundary, position, tf.shape(labels)[1]), axis=1)
    following = tf.minimum(tf.searchsorted(boundaries, position, side="right"),
                           tf.shape(labels)[1] - 1)
    ends = tf.gather(boundaries, following, batch_dims=1)
    return (tf.ragged.boolean_mask(position, starts), tf.ragged.boolean_mask(ends, starts),
            tf.gather(types, tf.ragged.boolean_mask(labels, starts)))


def _entity_texts(text, byte_starts, byte_ends, entity_starts, entity_ends):
    """The original text from each entity's first word to its last."""
    rows = entity_starts.value_rowids()
    first = tf.gather(byte_starts.row_starts(), rows)
    begin = tf.gather(byte_starts.flat_values, first + tf.cast(entity_starts.flat_values,
                                                                tf.int64))
    end = tf.gather(byte_ends.flat_values, first + tf.cast(entity_ends.flat_values - 1,
                                                            tf.int64))
    return entity_starts.with_flat_values(
        tf.strings.substr(tf.gather(text, rows), begin, end - begin))


def token_classification(task, label_names):
    preprocessor = task.preprocessor
    # Words cut off by the sequence length are "outside", as in `predict`.
    truncated_label = label_names.index("O") if "O" in label_names else 0
    tables = chunk_tables(label_names)
    names = tf.constant(label_names)

    @tf.function(autograph=False, input_signature=[ids_spec()])
    def serve_ids(inputs):
        logits = tf.cast(task(inputs, training=False), tf.float32)
        return {"logits": logits, "label_ids": tf.argmax(logits, axis=-1, output_type=tf.int32)}

    @tf.function(autograph=False,
                 input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve_text(text):
        words, byte_starts, byte_ends = split_words(text)
        logits = tf.cast(task(preprocessor.call(words), training=False), tf.float32)
        first_piece = preprocessor.word_starts(words)
        kept = first_piece.flat_values >= 0
        index = tf.stack([tf.cast(first_piece.value_rowids(), tf.int32),
                          tf.maximum(first_piece.flat_values, 0)], axis=1)
        word_logits = tf.where(kept[:, None], tf.gather_nd(logits, index), 0.0)
        label_ids = words.with_flat_values(tf.where(
            kept, tf.argmax(word_logits, axis=-1, output_type=tf.int32), truncated_label))
        entity_starts, entity_ends, entity_labels = decode_entities(label_ids, tables)
        entity_texts = _entity_texts(text, byte_starts, byte_ends, entity_starts, entity_ends)
        return {
            "words": words.to_tensor(""),
            "num_words": tf.cast(words.row_lengths(), tf.int32),
            "label_ids": label_ids.to_tensor(-1),
            "labels": tf.gather(names, label_ids).to_tensor(""),
            "word_logits": words.with_flat_values(word_logits).to_tensor(0.0),
            "entity_labels": entity_labels.to_tensor(""),
            "entity_texts": entity_texts.to_tensor(""),
            "entity_starts": entity_starts.to_tensor(-1),
            "entity_ends": entity_ends.to_tensor(-1),
            "num_entities": tf.cast(entity_starts.row_lengths(), tf.int32),
        }

    return Serving(serve_text, serve_ids, vocabulary_of(task), lambda texts: {"text": texts})
