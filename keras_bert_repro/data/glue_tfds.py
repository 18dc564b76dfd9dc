"""GLUE from TensorFlow Datasets (`glue/<task>`), for machines with a network.

`read_glue("tfds", task, split)` lands here: the same `(texts, labels)` as the
TSV reader, labels in this library's class order (TFDS orders MNLI's names
differently), `None` labels for test splits.
"""

# TFDS feature names of each task's segments.
TFDS_TEXT_FEATURES = {
    "cola": ("sentence",), "sst2": ("sentence",), "mrpc": ("sentence1", "sentence2"),
    "stsb": ("sentence1", "sentence2"), "qqp": ("question1", "question2"),
    "mnli": ("premise", "hypothesis"), "qnli": ("question", "sentence"),
    "rte": ("sentence1", "sentence2"), "wnli": ("sentence1", "sentence2"),
}
TFDS_SPLITS = {"dev": "validation", "dev_matched": "validation_matched",
               "dev_mismatched": "validation_mismatched", "test": "test",
               "test_matched": "test_matched", "test_mismatched": "test_mismatched",
               "train": "train"}


def read_glue_tfds(task, split, data_dir=None):
    """`task` (a `GlueTask`) and `split` as `read_glue` names them -> `(texts, labels)`.
    `data_dir` is TFDS's cache (default `~/tensorflow_datasets`)."""
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise ImportError("Reading GLUE from TFDS needs `pip install tensorflow-datasets` (and a "
                          "network for the first download); or pass a GLUE folder as "
                          "data_dir.") from None
    if split not in TFDS_SPLITS:
        raise ValueError(f"Unknown GLUE split {split!r}; known: {', '.join(TFDS_SPLITS)}.")
    name = f"glue/{task.name}"
    try:
        dataset, info = tfds.load(name, split=TFDS_SPLITS[split], data_dir=data_dir,
                                  with_info=True)
    except Exception as e:  # no network, unknown split, ...: say which dataset failed
        raise RuntimeError(f"Could not load {name} split {TFDS_SPLITS[split]!r} from TFDS: "
                           f"{e}") from e
    features = TFDS_TEXT_FEATURES[task.name]
    columns = {f: [] for f in features}
    raw_labels = []
    for example in dataset.as_numpy_iterator():
        for f in features:
            columns[f].append(example[f].decode("utf-8"))
        raw_labels.append(example["label"])
    texts = tuple(columns[f] for f in features)
    texts = texts[0] if len(texts) == 1 else texts
    if split.startswith("test"):
        return texts, None
    if task.labels is None:
        return texts, [float(x) for x in raw_labels]
    return texts, [_class_index(task, info, int(x)) for x in raw_labels]


def _class_index(task, info, tfds_id):
    names = info.features["label"].names
    name = names[tfds_id]
    # Where this library names the classes (MNLI, QNLI, RTE), map by name; "0"/"1" by id.
    return task.labels.index(name) if name in task.labels else tfds_id
