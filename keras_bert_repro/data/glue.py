"""GLUE task files in the layout of GLUE's `download_glue_data.py` (TSV, no quoting)."""

import csv
import dataclasses
import os

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


def read_glue(data_dir, task, split):
    """Reads `<data_dir>/<Task>/<split>.tsv`.

    Returns `(texts, labels)`: texts a list (one segment) or a tuple of two lists
    (pairs); labels int class ids (float scores for STS-B), or None for `test`.
    MNLI's dev split is `dev_matched` / `dev_mismatched`. `data_dir="tfds"` reads
    TensorFlow Datasets' `glue/<task>` instead (needs `tensorflow-datasets`, and a
    network for the first download).
    """
    task = get_task(task) if isinstance(task, str) else task
    if data_dir == "tfds":
        return read_glue_tfds(task, split)
    path = os.path.join(data_dir, task.folder, f"{split}.tsv")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"GLUE file {path} not found (expected GLUE's layout: "
                                f"<data_dir>/{task.folder}/{{train,dev,test}}.tsv).")
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    is_test = split.startswith("test")
    if task.header or is_test:
        rows = rows[1:]
    col_a = task.test_text_a if is_test else task.text_a
    col_b = task.test_text_b if is_test else task.text_b
    a, b, labels = [], [], []
    for line, row in enumerate(rows, start=2):
        try:
            a.append(row[col_a])
            if col_b is not None:
                b.append(row[col_b])
            if not is_test:
                raw = row[task.label]
                labels.append(float(raw) if task.labels is None else task.labels.index(raw))
        except (IndexError, ValueError) as e:
            raise ValueError(f"{path}:{line}: malformed row ({e}): {row!r}") from None
    texts = (a, b) if col_b is not None else a
    return texts, (None if is_test else labels)
