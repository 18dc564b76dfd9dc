"""SWAG files (Zellers et al., 2018) in the layout of its release: `train.csv`,
`val.csv`, `test.csv` with a header row naming the columns."""

import csv
import os

ENDINGS = ("ending0", "ending1", "ending2", "ending3")
COLUMNS = ("sent1", "sent2") + ENDINGS


def read_swag(data_dir, split):
    """Reads `<data_dir>/<split>.csv` (split: `train`, `val` or `test`).

    Returns `((contexts, endings), labels)` as the original BERT run did: the
    context is `sent1`, and each of the four endings is `sent2` (the start of the
    next sentence) followed by `ending<i>`. `labels` are the right endings'
    indices, or None when the file has no `label` column (the test split).

    Example:
    >>> (contexts, endings), labels = read_swag("data/swag", "val")  # doctest: +SKIP
    >>> endings[0]  # four strings, each "<sent2> <ending i>"  # doctest: +SKIP
    """
    path = os.path.join(data_dir, f"{split}.csv")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"SWAG file {path} not found (expected SWAG's layout: "
                                "<data_dir>/{train,val,test}.csv).")
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{path} lacks the SWAG column(s) {missing}; its header is "
                             f"{reader.fieldnames}.")
        has_labels = "label" in reader.fieldnames
        contexts, endings, labels = [], [], []
        for line, row in enumerate(reader, start=2):
            if any(row[c] is None for c in COLUMNS):
                raise ValueError(f"{path}:{line}: malformed row (too few columns): {row!r}")
            contexts.append(row["sent1"])
            endings.append([f"{row['sent2']} {row[e]}" for e in ENDINGS])
            if has_labels:
                try:
                    labels.append(int(row["label"]))
                except (TypeError, ValueError):
                    raise ValueError(f"{path}:{line}: label {row['label']!r} is not 0-3.") from None
                if not 0 <= labels[-1] < len(ENDINGS):
                    raise ValueError(f"{path}:{line}: label {labels[-1]} is not 0-3.")
    return (contexts, endings), (labels if has_labels else None)
