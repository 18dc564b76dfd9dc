"""Question answering serving: (question, context) -> the best answer span, windows in-graph.

`serving_default` takes `question` and `context` (tf.string `[B]`) and does in
the graph what `BertQuestionAnswerer.predict` does with `BertSquadPreprocessor`
and `best_answers`: the question cut to `max_query_length` tokens; a long
context cut into windows `doc_stride` tokens apart, every window packed to
`sequence_length`; each context token scored in the window where it has the
most context; in every window the `n_best_size` best starts and ends paired,
the best pair (start + end logit) over all windows kept (where none of those
pairs is a valid span, the best valid span over all positions). Outputs `[B]`:

- `answer` string: the context's original text of the span ("" if none);
- `start`, `end` int32: its character offsets in `context` (Unicode code
  points, end exclusive, so `context[start:end] == answer` in Python); -1 if none;
- `score` float32: start + end logit of the span (0 if none; SQuAD v2.0 models
  predicting "no answer": the null score);
- SQuAD v2.0 models also return `null_score_diff` float32 (null score minus the
  best span's; +inf when no span qualifies), and answer "" where it exceeds
  `null_score_diff_threshold`.

A context gives `ceil((tokens - room) / doc_stride) + 1` windows, `room` being
`sequence_length - 3 - question tokens`: a very long context costs
proportionally more, but is never truncated. Core TF ops besides the
tokenizer's TF Text ops.
"""

import tensorflow as tf

from keras_bert_repro.export.serving import Serving, ids_spec, vocabulary_of
from keras_bert_repro.text.offsets import OffsetTokenizer
from keras_bert_repro.text.packing import pack_segments


def windows(question, context, preprocessor, offset_tokenizer):
    """`run_squad.py`'s features, as tensors with one row per window:
    `(inputs, example, char_starts, char_ends, max_context)`, the last three
    `[windows, sequence_length]` (-1 / False outside the context)."""
    tokenizer = preprocessor.tokenizer
    length = preprocessor.sequence_length
    question_ids = tokenizer.call(question)[:, :preprocessor.max_query_length]
    context_ids, char_starts, char_ends = offset_tokenizer(context)
    num_tokens = context_ids.row_lengths()
    question_length = question_ids.row_lengths()
    room = length - 3 - question_length  # [CLS] question [SEP] window [SEP]
    step = tf.minimum(room, preprocessor.doc_stride)  # doc_spans: min(length, doc_stride)
    count = 1 + (tf.maximum(num_tokens - room, 0) + step - 1) // step
    example = tf.repeat(tf.range(tf.size(count, out_type=tf.int64)), count)
    window_start = tf.ragged.range(count).flat_values * tf.gather(step, example)
    window_length = tf.minimum(tf.gather(num_tokens, example) - window_start,
                               tf.gather(room, example))
    # Flat index of each window token among all the batch's context tokens.
    first_token = tf.gather(context_ids.row_starts(), example) + window_start
    tokens = tf.ragged.range(first_token, first_token + window_length)
    inputs = pack_segments([tf.gather(question_ids, example),
                            tf.gather(context_ids.flat_values, tokens)],
                           length, tokenizer.cls_token_id, tokenizer.sep_token_id,
                           tokenizer.pad_token_id)

    # Position p of a window holds context token p - offset when that is in [0, length).
    offset = tf.gather(question_length, example) + 2
    relative = tf.range(length, dtype=tf.int64)[None, :] - offset[:, None]
    inside = (relative >= 0) & (relative < window_length[:, None])
    total = tf.size(context_ids.flat_values, out_type=tf.int64)
    token = tf.where(inside, first_token[:, None] + relative, total)  # total: none

    def per_position(values):
        return tf.gather(tf.concat([values, [-1]], 0), token)

    # _check_is_max_context: min(left, right) + 0.01 * window length, in float64 as numpy.
    score = (tf.cast(tf.minimum(relative, window_length[:, None] - 1 - relative), tf.float64)
             + 0.01 * tf.cast(window_length, tf.float64)[:, None])
    best = tf.math.unsorted_segment_max(score, token, total + 1)
    window = tf.broadcast_to(tf.range(tf.size(example, out_type=tf.int64))[:, None],
                             tf.shape(token))
    is_best = inside & (score == tf.gather(best, token))
    first_best = tf.math.unsorted_segment_min(
        tf.where(is_best, window, tf.int64.max), token, total + 1)
    max_context = is_best & (tf.gather(first_best, token) == window)
    return (inputs, example, per_position(char_starts.flat_values),
            per_position(char_ends.flat_values), max_context)


def best_spans(logits, example, char_starts, char_ends, max_context, num_examples,
               n_best_size, max_answer_length):
    """Per example, the best valid (start, end) pair over its windows, as
    `squad_postprocessing`: `(found, score, char_start, char_end)`, each `[B]`.
    Ties go to the earlier window, then start rank, then end rank. Where no pair of
    the n-best counts, the best valid span over all positions of that example's
    windows is taken (so only a context without tokens finds none)."""
    start_logits, end_logits = logits[:, 0], logits[:, 1]
    k = tf.minimum(n_best_size, tf.shape(start_logits)[1])
    start_score, start = tf.math.top_k(start_logits, k)  # ties: the lower position first
    end_score, end = tf.math.top_k(end_logits, k)
    spans = _choose(start[:, :, None], end[:, None, :],
                    start_score[:, :, None] + end_score[:, None, :], example, char_starts,
                    char_ends, max_context, num_examples, max_answer_length)

    def anywhere():
        keep = tf.gather(tf.logical_not(spans[0]), example)  # windows of examples without one
        every = _span_anywhere(*(tf.boolean_mask(t, keep) for t in (
            logits, example, char_starts, char_ends, max_context)), num_examples,
            max_answer_length)
        return tuple(tf.where(spans[0], a, b) for a, b in zip(spans, every))

    return tf.cond(tf.reduce_all(spans[0]), lambda: spans, anywhere)


def _span_anywhere(logits, example, char_starts, char_ends, max_context, num_examples,
                   max_answer_length):
    """`best_spans` over every start and every end at most `max_answer_length`
    tokens on (in position order)."""
    length = tf.shape(logits)[2]
    start = tf.broadcast_to(tf.range(length)[None, :, None], [tf.shape(logits)[0], length, 1])
    end = start + tf.range(max_answer_length)[None, None, :]
    beyond = end >= length
    end = tf.minimum(end, length - 1)
    score = _at(logits[:, 0], start) + _at(logits[:, 1], end)
    return _choose(start, end, tf.where(beyond, -float("inf"), score), example, char_starts,
                   char_ends, max_context, num_examples, max_answer_length, invalid=beyond)


def _at(values, index):
    return tf.gather(values, index, batch_dims=1)


def _choose(start, end, score, example, char_starts, char_ends, max_context, num_examples,
            max_answer_length, invalid=None):
    """The best valid pair per example of candidate positions `start` `[W, S, 1]` and
    `end` `[W, S or 1, E]` with `score` `[W, S, E]`; the first in (window, start, end)
    order among equals."""
    valid = ((_at(char_starts, start) >= 0) & (_at(char_starts, end) >= 0)
             & _at(max_context, start) & (end >= start) & (end - start + 1 <= max_answer_length))
    if invalid is not None:
        valid &= tf.logical_not(invalid)
    shape = tf.shape(score)
    valid = tf.reshape(tf.broadcast_to(valid, shape), [-1])
    score = tf.reshape(score, [-1])
    candidate_example = tf.repeat(example, shape[1] * shape[2])
    best = tf.math.unsorted_segment_max(tf.where(valid, score, -float("inf")),
                                        candidate_example, num_examples)
    first = tf.math.unsorted_segment_min(
        tf.where(valid & (score == tf.gather(best, candidate_example)),
                 tf.range(tf.size(score, out_type=tf.int64)), tf.int64.max),
        candidate_example, num_examples)
    found = first < tf.int64.max
    first = tf.where(found, first, 0)

    def chosen(values, index):
        return tf.gather(tf.reshape(tf.broadcast_to(_at(values, index), shape), [-1]), first)

    return (found, tf.where(found, best, -float("inf")),
            tf.where(found, chosen(char_starts, start), -1),
            tf.where(found, chosen(char_ends, end), -1))


def question_answering(task):
    preprocessor = task.preprocessor
    offset_tokenizer = OffsetTokenizer(preprocessor.tokenizer) if preprocessor else None
    v2 = task.version_2_with_negative

    @tf.function(autograph=False, input_signature=[ids_spec()])
    def serve_ids(inputs):
        logits = tf.cast(task(inputs, training=False), tf.float32)
        return {"start_logits": logits[:, 0], "end_logits": logits[:, 1]}

    @tf.function(autograph=False,
                 input_signature=[tf.TensorSpec([None], tf.string, name="question"),
                                  tf.TensorSpec([None], tf.string, name="context")])
    def serve_text(question, context):
        tf.debugging.assert_equal(tf.size(question), tf.size(context),
                                  message="question and context differ in batch size")
        inputs, example, char_starts, char_ends, max_context = windows(
            question, context, preprocessor, offset_tokenizer)
        logits = tf.cast(task(inputs, training=False), tf.float32)
        num_examples = tf.size(context, out_type=tf.int64)
        found, score, start, end = best_spans(
            logits, example, char_starts, char_ends, max_context, num_examples,
            task.n_best_size, task.max_answer_length)
        outputs, scored = {}, found
        if v2:
            null_score = tf.math.unsorted_segment_min(logits[:, 0, 0] + logits[:, 1, 0],
                                                      example, num_examples)
            outputs["null_score_diff"] = null_score - score  # inf where no span
            no_answer = outputs["null_score_diff"] > task.null_score_diff_threshold
            found, scored = found & tf.logical_not(no_answer), found | no_answer
            score = tf.where(no_answer, null_score, score)
            start, end = tf.where(found, start, -1), tf.where(found, end, -1)
        # Offsets count code points of the text decoded as OffsetTokenizer does.
        text = tf.strings.unicode_transcode(context, "UTF-8", "UTF-8", errors="replace",
                                            replacement_char=0xFFFD)
        answer = tf.strings.substr(text, tf.maximum(start, 0), tf.maximum(end - start, 0),
                                   unit="UTF8_CHAR")
        outputs.update(answer=tf.where(found, answer, ""), start=start, end=end,
                       score=tf.where(scored, score, 0.0))
        return outputs

    def warmup(texts):
        return {"question": ["What is this about?"] * len(texts), "context": texts}

    return Serving(serve_text, serve_ids, vocabulary_of(task), warmup)
