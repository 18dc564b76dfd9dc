"""SQuAD's official metrics: exact match and token F1 (evaluate-v1.1.py, evaluate-v2.0.py).

Answers are compared after `normalize_answer` (lower-case, drop punctuation,
the articles a/an/the and extra whitespace); each score is the best over a
question's gold answers. The versions differ on edge cases, kept here:
v1.1 counts a question without prediction as wrong and scores an empty
normalized answer 0 F1; v2.0 skips it, drops gold answers that normalize
to nothing (an unanswerable question's only answer is then ""), and gives
F1 1 when prediction and gold are both empty.
"""

import collections
import re
import string

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text):
    """Lower-case, remove ASCII punctuation, articles and extra whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction, gold_answers):
    """1 if the prediction equals one gold answer after normalization, else 0."""
    return max(int(normalize_answer(prediction) == normalize_answer(g)) for g in gold_answers)


def f1(prediction, gold_answers, version_2=True):
    """The best token-overlap F1 against the gold answers."""
    return max(_f1(prediction, g, version_2) for g in gold_answers)


def _f1(prediction, gold, version_2):
    predicted, expected = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if version_2 and (not predicted or not expected):
        return float(predicted == expected)
    same = sum((collections.Counter(predicted) & collections.Counter(expected)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(predicted), same / len(expected)
    return 2 * precision * recall / (precision + recall)


def squad_metrics(gold, predictions, version_2_with_negative=False):
    """The official scripts' results for `predictions` (`{id: text}`).

    Args:
        gold: `{id: [gold answer texts]}` (`[]` for no answer), or a list of
            `SquadExample`s.
        predictions: `{id: predicted text}`.
        version_2_with_negative: score as evaluate-v2.0.py (adds the `HasAns_*`
            and `NoAns_*` splits) instead of evaluate-v1.1.py.

    Returns:
        v1.1: `{"exact_match", "f1"}`; v2.0: `{"exact", "f1", "total",
        "HasAns_exact", ...}`, percentages as the scripts print them.

    Example:
    >>> squad_metrics({"q1": ["Denver Broncos"]}, {"q1": "the Denver Broncos"})
    {'exact_match': 100.0, 'f1': 100.0}
    """
    if not isinstance(gold, dict):
        gold = {e.id: [a["text"] for a in e.answers] for e in gold}
    if not version_2_with_negative:
        scores = [(exact_match(predictions[i], answers), f1(predictions[i], answers, False))
                  if i in predictions else (0, 0.0) for i, answers in gold.items()]
        return {"exact_match": 100.0 * sum(s[0] for s in scores) / len(scores),
                "f1": 100.0 * sum(s[1] for s in scores) / len(scores)}

    exact, f1s, has_answer = {}, {}, {}
    for qid, answers in gold.items():
        has_answer[qid] = bool(answers)
        if qid not in predictions:
            continue
        answers = [a for a in answers if normalize_answer(a)] or [""]
        exact[qid] = exact_match(predictions[qid], answers)
        f1s[qid] = f1(predictions[qid], answers)
    results = _totals(exact, f1s, list(exact))
    for name, wanted in (("HasAns", True), ("NoAns", False)):
        ids = [q for q in exact if has_answer[q] == wanted]
        if ids:
            results.update({f"{name}_{k}": v for k, v in _totals(exact, f1s, ids).items()})
    return results


def _totals(exact, f1s, ids):
    total = len(ids)
    return {"exact": 100.0 * sum(exact[q] for q in ids) / total if total else 0.0,
            "f1": 100.0 * sum(f1s[q] for q in ids) / total if total else 0.0,
            "total": total}
