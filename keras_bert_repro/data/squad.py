"""SQuAD v1.1 / v2.0 json files -> examples, and a train/eval split by article."""

import dataclasses
import json

import numpy as np

from keras_bert_repro.data.bad_rows import BadRows


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


def read_squad(path, skip_bad_rows=False):
    """Reads a SQuAD json file (v1.1 or v2.0) into `SquadExample`s, in file order.

    A question without its fields, or an answer that is not at its `answer_start`
    in the context, raises naming the file and question; `skip_bad_rows=True`
    leaves it out and warns once with the count.

    Example:
    >>> examples = read_squad("dev-v1.1.json")  # doctest: +SKIP
    >>> examples[0].question, examples[0].answers[0]["text"]  # doctest: +SKIP
    ('Which NFL team represented the AFC at Super Bowl 50?', 'Denver Broncos')
    """
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except UnicodeDecodeError as e:
        raise ValueError(f"{path} is not UTF-8 text (byte {e.start}).") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON (line {e.lineno}, column {e.colno}: "
                         f"{e.msg}); is it cut short?") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ValueError(f"{path} is not a SQuAD file: no top-level 'data' list.")
    bad = BadRows(path, skip_bad_rows)
    examples = []
    for a, article in enumerate(data["data"]):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            bad.bad(f"article {a}", "no 'paragraphs' list")
            continue
        for paragraph in paragraphs:
            qas = paragraph.get("qas") if isinstance(paragraph, dict) else None
            if not isinstance(qas, list) or not isinstance(paragraph.get("context"), str):
                bad.bad(f"article {a}", "a paragraph without its 'context' text and 'qas' list")
                continue
            for q, qa in enumerate(qas):
                try:
                    examples.append(_example(qa, article, paragraph["context"]))
                except (KeyError, TypeError, ValueError) as e:
                    where = qa.get("id", f"{a}/{q}") if isinstance(qa, dict) else f"{a}/{q}"
                    bad.bad(f"question {where}", _problem(e))
    bad.report()
    return examples


def _example(qa, article, context):
    answers = tuple(qa["answers"])
    for answer in answers:
        start, text = answer["answer_start"], answer["text"]
        if not isinstance(start, int) or not isinstance(text, str):
            raise TypeError(f"answer {answer!r} needs an int 'answer_start' and a 'text'")
        if context[start:start + len(text)] != text:
            raise ValueError(f"answer {text!r} is not at character {start} of the context")
    if not isinstance(qa["question"], str):
        raise TypeError(f"question is {qa['question']!r}, not text")
    return SquadExample(
        id=str(qa["id"]), title=article.get("title", ""), question=qa["question"],
        context=context, answers=answers,
        is_impossible=bool(qa.get("is_impossible", False)),
        plausible_answers=tuple(qa.get("plausible_answers", ())))


def _problem(error):
    return f"lacks {error}" if isinstance(error, KeyError) else str(error)


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
