"""CoNLL-2003 NER files: one `word POS chunk NER` line per word, a blank line between
sentences, `-DOCSTART-` lines between documents.

The original `eng.train` files tag entities in IOB1 (an entity starts with `I-`,
`B-` only between two adjacent entities of one type); the common copies (and
`../shared/data/conll2003`) are already IOB2, where every entity starts with `B-`.
`read_conll` returns IOB2 either way unless told otherwise.
"""

import os

from keras_bert_repro.data.bad_rows import BadRows

# The tag ids of the Hugging Face `conll2003` dataset; "O" first, so id 0 is
# "outside" (what `BertTokenClassifier.predict` gives words cut by truncation).
CONLL2003_LABELS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC",
                    "I-MISC")
SPLITS = {"train": "train.txt", "valid": "valid.txt", "dev": "valid.txt", "test": "test.txt"}


def read_conll(data_dir, split, scheme="iob2", skip_bad_rows=False):
    """Reads `<data_dir>/{train,valid,test}.txt` (`split` "dev" means valid).

    Returns `(sentences, tags)`: lists of sentences, each a list of words and a
    list of their NER tags (the last column). `scheme="iob2"` converts IOB1 tags to
    IOB2 (a no-op on IOB2 files); `scheme=None` keeps the file's tags. A line
    without a tag raises naming the file and line; `skip_bad_rows=True` leaves its
    sentence out and warns once with the count.

    Example:
    >>> words, tags = read_conll("../shared/data/conll2003", "train")  # doctest: +SKIP
    >>> words[0], tags[0]  # doctest: +SKIP
    (['EU', 'rejects', 'German', ...], ['B-ORG', 'O', 'B-MISC', ...])
    """
    if split not in SPLITS:
        raise ValueError(f"Unknown CoNLL split {split!r}; known: {', '.join(SPLITS)}.")
    if scheme not in ("iob2", None):
        raise ValueError(f"scheme must be 'iob2' or None, got {scheme!r}.")
    path = os.path.join(data_dir, SPLITS[split])
    if not os.path.isfile(path):
        raise FileNotFoundError(f"CoNLL file {path} not found (expected "
                                f"<data_dir>/{{train,valid,test}}.txt).")
    sentences, tags, words, word_tags = [], [], [], []
    bad, broken = BadRows(path, skip_bad_rows), [False]

    def end_sentence():
        if words and not broken[0]:
            sentences.append(list(words))
            tags.append(iob1_to_iob2(word_tags) if scheme == "iob2" else list(word_tags))
        words.clear()
        word_tags.clear()
        broken[0] = False

    try:
        with open(path, encoding="utf-8") as f:
            for line_number, line in enumerate(f, start=1):
                columns = line.split()
                if not columns or columns[0] == "-DOCSTART-":
                    end_sentence()
                    continue
                if len(columns) < 2:
                    bad.bad(line_number, f"expected a word and its tag, got {line.rstrip()!r}")
                    broken[0] = True  # the sentence is left out whole
                    continue
                words.append(columns[0])
                word_tags.append(columns[-1])
    except UnicodeDecodeError as e:
        raise ValueError(f"{path} is not UTF-8 text (byte {e.start}).") from None
    end_sentence()
    bad.report()
    return sentences, tags


def iob1_to_iob2(tags):
    """IOB1 -> IOB2: an `I-X` that starts an entity (after `O` or another type)
    becomes `B-X`. IOB2 tags come back unchanged."""
    converted, previous = [], "O"
    for tag in tags:
        if tag.startswith("I-") and (previous == "O" or previous[2:] != tag[2:]):
            tag = "B-" + tag[2:]
        converted.append(tag)
        previous = tag
    return converted


def tag_scheme(tag_sentences):
    """The scheme of the tags: "iob1" if some entity starts with `I-` (after `O` or
    another type), else "iob2"."""
    for tags in tag_sentences:
        if iob1_to_iob2(tags) != list(tags):
            return "iob1"
    return "iob2"


def label_names_of(tag_sentences):
    """The label list for a token classifier trained on `tag_sentences`: CoNLL-2003's
    nine tags (in their order) when the data uses no other, else "O" then the
    data's tags sorted by entity type, "B-" before "I-".

    >>> label_names_of([["B-GENE", "I-GENE", "O"]])
    ['O', 'B-GENE', 'I-GENE']
    """
    tags = {tag for sentence in tag_sentences for tag in sentence}
    if tags <= set(CONLL2003_LABELS):
        return list(CONLL2003_LABELS)
    return ["O"] + sorted(tags - {"O"}, key=lambda tag: (tag[2:], tag[:2]))


def tag_ids(tag_sentences, labels=CONLL2003_LABELS):
    """Tags -> int ids per sentence; raises ValueError naming an unknown tag."""
    index = {label: i for i, label in enumerate(labels)}
    try:
        return [[index[tag] for tag in tags] for tags in tag_sentences]
    except KeyError as e:
        raise ValueError(f"Tag {e.args[0]!r} is not in the label list {list(labels)}.") from None
