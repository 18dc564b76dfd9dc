"""WordPiece vocabularies: reading and checking them, and telling their casing.

(Where a preset keeps its vocabulary is `presets.vocabulary_file`.)
"""

import os

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def read_vocabulary(vocabulary):
    """A list of tokens from a list, or from a `vocab.txt` (one token per line)."""
    if isinstance(vocabulary, (str, os.PathLike)):
        path = os.fspath(vocabulary)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"Vocabulary file {path} does not exist.")
        with open(path, encoding="utf-8") as f:
            tokens = [line.rstrip("\r\n") for line in f]
        while tokens and not tokens[-1]:
            tokens.pop()
    else:
        tokens = [str(t) for t in vocabulary]
    missing = [t for t in ("[UNK]", "[CLS]", "[SEP]", "[PAD]") if t not in tokens]
    if missing:
        raise ValueError(f"The vocabulary lacks the special token(s) {missing}.")
    duplicates = len(tokens) - len(set(tokens))
    if duplicates:
        raise ValueError(f"The vocabulary has {duplicates} duplicate token(s).")
    return tokens
