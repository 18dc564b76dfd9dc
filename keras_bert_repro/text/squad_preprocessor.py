"""BertSquadPreprocessor: (question, context) -> `[CLS] question [SEP] window [SEP]` features.

Follows `convert_examples_to_features` of google-research/bert's `run_squad.py`:
the question is cut to `max_query_length` tokens, a context longer than the
room left is cut into windows that start `doc_stride` tokens apart, and each
context token is marked as having its "max context" in the window where it has
the most tokens on its shorter side (`_check_is_max_context`). The answer's
tokens are the tightest span covering its characters, which is what
`_improve_answer_span` recovers from whole-word positions; a window that does
not hold the whole answer (or a v2.0 question without one) points at `[CLS]`.
"""

import dataclasses

import keras
import numpy as np

from keras_bert_repro.text.offsets import OffsetTokenizer
from keras_bert_repro.text.preprocessor_layer import PreprocessorLayer

_CHUNK = 512  # contexts tokenized per TF call, to bound the per-character tensors


@dataclasses.dataclass
class SquadFeatures:
    """The windows of a batch of examples, and how to map them back.

    Arrays have one row per window; `[windows, sequence_length]` ones give, for
    each position, the character span of its token in the context (`-1` for the
    question, special tokens and padding) and whether this window is the token's
    max context. `start_positions`/`end_positions` exist when answers were given.
    """

    token_ids: np.ndarray
    segment_ids: np.ndarray
    padding_mask: np.ndarray
    example_index: np.ndarray
    token_char_starts: np.ndarray
    token_char_ends: np.ndarray
    max_context: np.ndarray
    contexts: list
    start_positions: np.ndarray = None
    end_positions: np.ndarray = None

    def __len__(self):
        return len(self.token_ids)

    @property
    def inputs(self):
        """The backbone inputs, a dict of int32 arrays."""
        return {"token_ids": self.token_ids, "segment_ids": self.segment_ids,
                "padding_mask": self.padding_mask}

    @property
    def positions(self):
        """`[windows, 2]` answer start and end positions (the training labels)."""
        if self.start_positions is None:
            raise ValueError("These features were made without answers: pass answers to the "
                             "preprocessor to get positions.")
        return np.stack([self.start_positions, self.end_positions], axis=1)


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class BertSquadPreprocessor(PreprocessorLayer):
    """Questions and contexts -> windowed features for span question answering.

    Tokenization runs on TF Text (any backend); the window bookkeeping is numpy,
    so this runs eagerly, before `tf.data`, and returns a `SquadFeatures`.

    Args:
        tokenizer: a `BertTokenizer`.
        sequence_length: the packed length (384 in the paper's SQuAD runs).
        doc_stride: tokens between the starts of consecutive context windows.
        max_query_length: questions are cut to this many tokens.

    Example:
    >>> pre = BertSquadPreprocessor.from_preset("/path/to/model")  # doctest: +SKIP
    >>> features = pre((["Who won?"], ["The Broncos won the game."]),
    ...                answers=[{"text": "The Broncos", "answer_start": 0}])  # doctest: +SKIP
    >>> features.start_positions, features.end_positions  # doctest: +SKIP
    (array([5]), array([6]))
    """

    def __init__(self, tokenizer, sequence_length=384, doc_stride=128, max_query_length=64,
                 **kwargs):
        super().__init__(tokenizer, **kwargs)
        if sequence_length - max_query_length - 3 < 1:
            raise ValueError(f"sequence_length={sequence_length} leaves no room for the context "
                             f"after a question of max_query_length={max_query_length} and "
                             "[CLS] [SEP] [SEP].")
        if doc_stride < 1:
            raise ValueError(f"doc_stride must be positive, got {doc_stride}.")
        self.sequence_length = int(sequence_length)
        self.doc_stride = int(doc_stride)
        self.max_query_length = int(max_query_length)
        self._offset_tokenizer = None

    def call(self, x, answers=None):
        """`x = (questions, contexts)`, lists of strings; `answers` (for training)
        one per example: `{"text": ..., "answer_start": character}` or `None`
        (no answer, SQuAD v2.0)."""
        questions, contexts = _question_context_lists(x)
        if answers is not None and len(answers) != len(questions):
            raise ValueError(f"Got {len(answers)} answers for {len(questions)} questions.")
        question_ids = [ids[:self.max_query_length]
                        for ids in self._to_lists(self.tokenizer.call(questions))]
        context_tokens = self._tokenize_contexts(contexts)
        rows = []
        for index, (question, context) in enumerate(zip(question_ids, contexts)):
            answer = None if answers is None else answers[index]
            rows.extend(self._windows(index, question, context, context_tokens[context], answer))
        return self._stack(rows, contexts, with_positions=answers is not None)

    def _tokenize_contexts(self, contexts):
        """Each distinct context once (SQuAD asks ~5 questions per paragraph) ->
        numpy `(ids, char_starts, char_ends)`."""
        if self._offset_tokenizer is None:
            self._offset_tokenizer = OffsetTokenizer(self.tokenizer)
        distinct = list(dict.fromkeys(contexts))
        tokens = {}
        for begin in range(0, len(distinct), _CHUNK):
            chunk = distinct[begin:begin + _CHUNK]
            parts = [self._to_lists(t) for t in self._offset_tokenizer(chunk)]
            tokens.update(zip(chunk, (tuple(map(np.asarray, p)) for p in zip(*parts))))
        return tokens

    @staticmethod
    def _to_lists(ragged):
        splits, values = ragged.row_splits.numpy(), ragged.flat_values.numpy()
        return [values[a:b] for a, b in zip(splits[:-1], splits[1:])]

    def _windows(self, index, question, context, tokens, answer):
        ids, char_starts, char_ends = tokens
        answer_span = None if answer is None else _answer_tokens(index, context, tokens, answer)
        offset = len(question) + 2  # [CLS] question [SEP]
        spans = doc_spans(len(ids), self.sequence_length - offset - 1, self.doc_stride)
        max_context = max_context_mask(spans, len(ids))
        rows = []
        for span_index, (start, length) in enumerate(spans):
            window = slice(start, start + length)
            position = (0, 0)
            if answer_span is not None and start <= answer_span[0] and \
                    answer_span[1] < start + length:
                position = (answer_span[0] - start + offset, answer_span[1] - start + offset)
            rows.append((index, question, ids[window], char_starts[window], char_ends[window],
                         max_context[span_index, window], position))
        return rows

    def _stack(self, rows, contexts, with_positions):
        n, length = len(rows), self.sequence_length
        token_ids = np.full((n, length), self.tokenizer.pad_token_id, "int32")
        segment_ids = np.zeros((n, length), "int32")
        padding_mask = np.zeros((n, length), "int32")
        char_starts = np.full((n, length), -1, "int32")
        char_ends = np.full((n, length), -1, "int32")
        max_context = np.zeros((n, length), bool)
        cls, sep = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        for row, (_, question, ids, starts, ends, is_max, _) in enumerate(rows):
            offset = len(question) + 2
            end = offset + len(ids)
            token_ids[row, :end + 1] = np.concatenate([[cls], question, [sep], ids, [sep]])
            segment_ids[row, offset:end + 1] = 1
            padding_mask[row, :end + 1] = 1
            char_starts[row, offset:end] = starts
            char_ends[row, offset:end] = ends
            max_context[row, offset:end] = is_max
        positions = np.array([r[-1] for r in rows], "int32").reshape(n, 2)
        return SquadFeatures(
            token_ids=token_ids, segment_ids=segment_ids, padding_mask=padding_mask,
            example_index=np.array([r[0] for r in rows], "int32"),
            token_char_starts=char_starts, token_char_ends=char_ends, max_context=max_context,
            contexts=list(contexts),
            start_positions=positions[:, 0] if with_positions else None,
            end_positions=positions[:, 1] if with_positions else None)

    def get_config(self):
        config = super().get_config()
        config.update(sequence_length=self.sequence_length, doc_stride=self.doc_stride,
                      max_query_length=self.max_query_length)
        return config


def doc_spans(num_tokens, max_tokens, doc_stride):
    """`(start, length)` windows over `num_tokens` context tokens, as `run_squad.py`:
    each at most `max_tokens` long, starting `doc_stride` apart, the last one
    ending at the last token. An empty context gets one empty window."""
    spans, start = [], 0
    while True:
        length = min(num_tokens - start, max_tokens)
        spans.append((start, length))
        if start + length >= num_tokens:
            return spans
        start += min(length, doc_stride)


def max_context_mask(spans, num_tokens):
    """`[windows, num_tokens]` bool: whether each window is the one where a token
    has the most context, min(left, right) + 0.01 * window length, the first
    window winning ties (`_check_is_max_context`)."""
    position = np.arange(num_tokens)
    scores = np.full((len(spans), num_tokens), -np.inf)
    for index, (start, length) in enumerate(spans):
        inside = (position >= start) & (position < start + length)
        score = np.minimum(position - start, start + length - 1 - position) + 0.01 * length
        scores[index, inside] = score[inside]
    best = np.argmax(scores, axis=0)
    return best[None, :] == np.arange(len(spans))[:, None]


def _answer_tokens(index, context, tokens, answer):
    """The first and last context tokens that overlap the answer's characters."""
    text, start = answer["text"], int(answer["answer_start"])
    if context[start:start + len(text)] != text:
        raise ValueError(f"Example {index}: the answer {text!r} is not at character {start} of "
                         f"its context (found {context[start:start + len(text)]!r}).")
    _, char_starts, char_ends = tokens
    inside = np.flatnonzero((char_ends > start) & (char_starts < start + len(text)))
    if not len(inside):
        raise ValueError(f"Example {index}: the answer {text!r} holds no token.")
    return int(inside[0]), int(inside[-1])


def _question_context_lists(x):
    if not (isinstance(x, tuple) and len(x) == 2):
        raise ValueError("Pass (questions, contexts): a tuple of two lists of strings.")
    questions, contexts = x
    if isinstance(questions, str):
        questions, contexts = [questions], [contexts]
    questions, contexts = [_as_str(q) for q in questions], [_as_str(c) for c in contexts]
    if len(questions) != len(contexts):
        raise ValueError(f"Got {len(questions)} questions and {len(contexts)} contexts.")
    return questions, contexts


def _as_str(text):
    if isinstance(text, bytes):
        return text.decode("utf-8")
    if not isinstance(text, str):
        raise TypeError(f"Questions and contexts must be strings, got {type(text).__name__}.")
    return text
