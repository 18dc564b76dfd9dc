"""GLUE task files in the layout of GLUE's `download_glue_data.py` (TSV, no quoting)."""

import csv
import dataclasses
import math
import os

from keras_bert_repro.data.bad_rows import BadRows
from keras_bert_repro.data.glue_tfds import read_glue_tfds


@dataclasses.dataclass(frozen=True)
class GlueTask:
    """Where a task's columns are, its labels, and its official metric."""

    name: str
    folder: str
    text_a: int
    text_b: int | None
    label: int | None
    labels: tuple | None  # None: regression
    metric: str
    header: bool = True
    test_text_a: int = 1
    test_text_b: int | None = None

    @property
    def num_classes(self):
        return 1 if self.labels is None else len(self.labels)


TASKS = {
    "cola": GlueTask("cola", "CoLA", 3, None, 1, ("0", "1"), "matthews_corrcoef", header=False),
    "sst2": GlueTask("sst2", "SST-2", 0, None, 1, ("0", "1"), "accuracy"),
    "mrpc": GlueTask("mrpc", "MRPC", 3, 4, 0, ("0", "1"), "f1", test_text_a=3, test_text_b=4),
    "stsb": GlueTask("stsb", "STS-B", 7, 8, 9, None, "pearson", test_text_a=7, test_text_b=8),
    "qqp": GlueTask("qqp", "QQP", 3, 4, 5, ("0", "1"), "f1", test_text_a=1, test_text_b=2),
    "mnli": GlueTask("mnli", "MNLI", 8, 9, -1, ("contradiction", "entailment", "neutral"),
                     "accuracy", test_text_a=8, test_text_b=9),
    "qnli": GlueTask("qnli", "QNLI", 1, 2, 3, ("entailment", "not_entailment"), "accuracy",
                     test_text_b=2),
    "rte": GlueTask("rte", "RTE", 1, 2, 3, ("entailment", "not_entailment"), "accuracy",
                    test_text_b=2),
    "wnli": GlueTask("wnli", "WNLI", 1, 2, 3, ("0", "1"), "accuracy", test_text_b=2),
}


def get_task(name):
    try:
        return TASKS[name.lower()]
    except KeyError:
        raise ValueError(f"Unknown GLUE task {name!r}; known: {', '.join(TASKS)}.") from None


def read_glue(data_dir, task, split, skip_bad_rows=False):
    """Reads `<data_dir>/<Task>/<split>.tsv`.

    Returns `(texts, labels)`: texts a list (one segment) or a tuple of two lists
    (pairs); labels int class ids (float scores for STS-B), or None for `test`.
    MNLI's dev split is `dev_matched` / `dev_mismatched`. `data_dir="tfds"` reads
    TensorFlow Datasets' `glue/<task>` instead (needs `tensorflow-datasets`, and a
    network for the first download). A malformed row (missing columns, an unknown
    label) raises naming the file and line; `skip_bad_rows=True` leaves it out
    and warns once with the count.
    """
    task = get_task(task) if isinstance(task, str) else task
    if data_dir == "tfds":
        return read_glue_tfds(task, split)
    path = os.path.join(data_dir, task.folder, f"{split}.tsv")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"GLUE file {path} not found (expected GLUE's layout: "
                                f"<data_dir>/{task.folder}/{{train,dev,test}}.tsv).")
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    except UnicodeDecodeError as e:
        raise ValueError(f"{path} is not UTF-8 text (byte {e.start}).") from None
    except csv.Error as e:
        raise ValueError(f"{path}: not a tab-separated file ({e}).") from None
    is_test = split.startswith("test")
    if task.header or is_test:
        rows = rows[1:]
    col_a = task.test_text_a if is_test else task.text_a
    col_b = task.test_text_b if is_test else task.text_b
    a, b, labels = [], [], []
    bad = BadRows(path, skip_bad_rows)
    first_line = 2 if task.header or is_test else 1
    for line, row in enumerate(rows, start=first_line):
        try:
            text_a = row[col_a]
            text_b = row[col_b] if col_b is not None else None
            label = None
            if not is_test:
                raw = row[task.label]
                label = float(raw) if task.labels is None else task.labels.index(raw)
                if task.labels is None and not math.isfinite(label):
                    raise ValueError(f"score {raw!r} is not finite")
        except (IndexError, ValueError) as e:
            bad.bad(line, f"malformed row ({e}): {_clip(row)}")
            continue
        a.append(text_a)
        if col_b is not None:
            b.append(text_b)
        if not is_test:
            labels.append(label)
    bad.report()
    texts = (a, b) if col_b is not None else a
    return texts, (None if is_test else labels)


def _clip(row, limit=200):
    text = repr(row)
    return text if len(text) <= limit else text[:limit] + "...]"
