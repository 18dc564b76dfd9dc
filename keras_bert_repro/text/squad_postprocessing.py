"""Start/end logits of SQuAD windows -> answer text, as `write_predictions` of `run_squad.py`.

Per example, the `n_best_size` best start and end positions of every window
are paired; a pair counts if both ends are context tokens, the start is in its
max-context window, start <= end and the span is at most `max_answer_length`
tokens. Pairs are ranked by start + end logit. Where no pair of the n-best
counts (an untrained or confused model), the best such span over all positions
is taken, so an answer is never empty for want of a candidate (`run_squad.py`
writes "empty" there). The answer text is the original
context from the start token's first character to the end token's last (not a
re-joined detokenization), so it is always an exact substring of the context.
SQuAD v2.0: the null score is the lowest `[CLS]` start + end logit over the
windows, and "" is predicted when it beats the best span by more than
`null_score_diff_threshold`.
"""

import numpy as np


def best_answers(features, logits, n_best_size=20, max_answer_length=30,
                 version_2_with_negative=False, null_score_diff_threshold=0.0):
    """Answers per example of `features` (a `SquadFeatures`).

    Args:
        features: the windows the logits were computed on.
        logits: `[windows, 2, sequence_length]` start and end logits.

    Returns:
        One dict per example: `text`, `start`/`end` (characters in the context;
        `None` for ""), `score` (start + end logit of the best span; for "" the
        null score), `null_score_diff` (v2.0: null score minus best span score)
        and `n_best` (up to `n_best_size` distinct texts with `start_logit`,
        `end_logit` and softmax `probability`).

    Example:
    >>> features = preprocessor((questions, contexts))  # doctest: +SKIP
    >>> best_answers(features, model.predict(features.inputs))[0]["text"]  # doctest: +SKIP
    """
    logits = np.asarray(logits, dtype="float32")
    if logits.shape != (len(features), 2, features.token_ids.shape[1]):
        raise ValueError(f"logits must be [windows, 2, sequence_length] = "
                         f"{(len(features), 2, features.token_ids.shape[1])}, "
                         f"got {logits.shape}.")
    windows_of = [[] for _ in features.contexts]
    for window, example in enumerate(features.example_index):
        windows_of[example].append(window)
    return [_answer(features, logits, windows, context, n_best_size, max_answer_length,
                    version_2_with_negative, null_score_diff_threshold)
            for windows, context in zip(windows_of, features.contexts)]


def _answer(features, logits, windows, context, n_best_size, max_answer_length,
            version_2_with_negative, null_score_diff_threshold):
    candidates = []  # (score, start_logit, end_logit, char_start, char_end)
    null_score, null_logits = np.inf, (0.0, 0.0)
    for window in windows:
        start_logits, end_logits = logits[window]
        if version_2_with_negative and start_logits[0] + end_logits[0] < null_score:
            null_score = start_logits[0] + end_logits[0]
            null_logits = (start_logits[0], end_logits[0])
        starts, ends = features.token_char_starts[window], features.token_char_ends[window]
        s = _best_indexes(start_logits, n_best_size)[:, None]
        e = _best_indexes(end_logits, n_best_size)[None, :]
        valid = _valid_spans(features, window, s, e, max_answer_length)
        # np.nonzero keeps run_squad.py's loop order: start rank, then end rank.
        for i, j in zip(*np.nonzero(valid)):
            a, b = s[i, 0], e[0, j]
            candidates.append((start_logits[a] + end_logits[b], start_logits[a], end_logits[b],
                               int(starts[a]), int(ends[b])))
    if not candidates:
        candidates = _best_span_anywhere(features, logits, windows, max_answer_length)
    if version_2_with_negative:
        candidates.append((null_score, *null_logits, None, None))
    # Stable, as run_squad.py's sort: ties keep window, then start, then end order.
    candidates.sort(key=lambda c: c[0], reverse=True)

    n_best, seen = [], set()
    for score, start_logit, end_logit, char_start, char_end in candidates:
        if len(n_best) >= n_best_size:
            break
        text = "" if char_start is None else context[char_start:char_end]
        if text in seen:
            continue
        seen.add(text)
        n_best.append({"text": text, "start": char_start, "end": char_end,
                       "start_logit": float(start_logit), "end_logit": float(end_logit)})
    if version_2_with_negative and "" not in seen:
        n_best.append({"text": "", "start": None, "end": None,
                       "start_logit": float(null_logits[0]), "end_logit": float(null_logits[1])})
    if n_best:
        scores = np.array([b["start_logit"] + b["end_logit"] for b in n_best])
        probabilities = np.exp(scores - scores.max())
        for entry, p in zip(n_best, probabilities / probabilities.sum()):
            entry["probability"] = float(p)

    best_span = next((b for b in n_best if b["text"]), None)
    answer = {"text": "", "start": None, "end": None, "score": None, "n_best": n_best}
    if best_span is not None:
        answer.update(text=best_span["text"], start=best_span["start"], end=best_span["end"],
                      score=best_span["start_logit"] + best_span["end_logit"])
    if version_2_with_negative:
        span_score = answer["score"] if best_span is not None else -np.inf
        answer["null_score_diff"] = float(null_score - span_score)
        if answer["null_score_diff"] > null_score_diff_threshold:
            answer.update(text="", start=None, end=None, score=float(null_score))
    return answer


def _best_span_anywhere(features, logits, windows, max_answer_length):
    """The one best valid span over every start and end of `windows` (as a one-item
    candidate list), or [] where the windows hold no context token."""
    best = []
    for window in windows:
        start_logits, end_logits = logits[window]
        starts, ends = features.token_char_starts[window], features.token_char_ends[window]
        positions = np.arange(len(starts))
        valid = _valid_spans(features, window, positions[:, None], positions[None, :],
                             max_answer_length)
        if not valid.any():
            continue
        scores = np.where(valid, start_logits[:, None] + end_logits[None, :], -np.inf)
        a, b = np.unravel_index(np.argmax(scores), scores.shape)
        if not best or scores[a, b] > best[0][0]:
            best = [(scores[a, b], start_logits[a], end_logits[b], int(starts[a]),
                     int(ends[b]))]
    return best


def _valid_spans(features, window, s, e, max_answer_length):
    """Which (start `s`, end `e`) position pairs of `window` are answers: both context
    tokens, the start in its max-context window, start <= end, at most
    `max_answer_length` tokens."""
    starts = features.token_char_starts[window]
    return ((starts[s] >= 0) & (starts[e] >= 0) & features.max_context[window][s]
            & (e >= s) & (e - s + 1 <= max_answer_length))


def _best_indexes(logits, n_best_size):
    """The `n_best_size` highest positions, ties in position order (a stable sort)."""
    return np.argsort(-logits, kind="stable")[:n_best_size]
