"""SQuAD v1.1 / v2.0 json files -> examples, and a train/eval split by article."""

import dataclasses
import json

import numpy as np


@dataclasses.dataclass(frozen=True)
class SquadExample:
    """One question on one paragraph.

    `answers` are the gold answers, dicts `{"text", "answer_start"}` as in the
    file (empty for a v2.0 question without answer, which keeps its
    `plausible_answers`).
    """

    id: str
    title: str
    question: str
    context: str
    answers: tuple
    is_impossible: bool = False
    plausible_answers: tuple = ()

    @property
    def training_answer(self):
        """The answer to train on: the first gold answer, as `run_squad.py`, or
        `None` for no answer."""
        return None if self.is_impossible or not self.answers else self.answers[0]


def read_squad(path):
    """Reads a SQuAD json file (v1.1 or v2.0) into `SquadExample`s, in file order.

    Example:
    >>> examples = read_squad("dev-v1.1.json")  # doctest: +SKIP
    >>> examples[0].question, examples[0].answers[0]["text"]  # doctest: +SKIP
    ('Which NFL team represented the AFC at Super Bowl 50?', 'Denver Broncos')
    """
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict) or "data" not in data:
        raise ValueError(f"{path} is not a SQuAD file: no top-level 'data' list.")
    examples = []
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                try:
                    examples.append(SquadExample(
                        id=qa["id"], title=article.get("title", ""), question=qa["question"],
                        context=paragraph["context"], answers=tuple(qa["answers"]),
                        is_impossible=bool(qa.get("is_impossible", False)),
                        plausible_answers=tuple(qa.get("plausible_answers", ()))))
                except KeyError as e:
                    raise ValueError(f"{path}: question {qa.get('id', '?')} lacks {e}.") from None
    return examples


def split_by_article(examples, train_fraction, seed=0):
    """`(train, eval)` examples, whole articles on each side.

    Questions on one article share its paragraphs, so a split by question would
    test on text seen in training. A seeded shuffle of the titles puts
    `round(train_fraction * articles)` articles in train (at least one on each
    side when there are two or more).
    """
    if not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}.")
    titles = list(dict.fromkeys(e.title for e in examples))
    if len(titles) < 2:
        raise ValueError(f"Need at least two articles to split, got {len(titles)}.")
    order = np.random.default_rng(seed).permutation(len(titles))
    count = min(max(round(train_fraction * len(titles)), 1), len(titles) - 1)
    train_titles = {titles[i] for i in order[:count]}
    return ([e for e in examples if e.title in train_titles],
            [e for e in examples if e.title not in train_titles])


def questions_and_contexts(examples):
    """`(questions, contexts)`, the input of `BertQuestionAnswerer`."""
    return [e.question for e in examples], [e.context for e in examples]
