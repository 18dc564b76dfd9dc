"""WordPiece vocabularies: reading and checking them, and telling their casing.

(Where a preset keeps its vocabulary is `presets.vocabulary_file`.)
"""

import os

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def read_vocabulary(vocabulary):
    """A list of tokens from a list, or from a `vocab.txt` (one token per line)."""
    source = "The vocabulary"
    if isinstance(vocabulary, (str, os.PathLike)):
        path = os.fspath(vocabulary)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"Vocabulary file {path} does not exist.")
        source = f"Vocabulary file {path}"
        try:
            with open(path, encoding="utf-8") as f:
                tokens = [line.rstrip("\r\n") for line in f]
        except UnicodeDecodeError as e:
            raise ValueError(f"{source} is not UTF-8 text (byte {e.start}); a vocab.txt holds "
                             "one token per line.") from None
        while tokens and not tokens[-1]:
            tokens.pop()
    else:
        tokens = [str(t) for t in vocabulary]
    missing = [t for t in ("[UNK]", "[CLS]", "[SEP]", "[PAD]") if t not in tokens]
    if missing:
        raise ValueError(f"{source} lacks the special token(s) {missing}"
                         + (" (it is empty)." if not tokens else "."))
    duplicates = len(tokens) - len(set(tokens))
    if duplicates:
        first = {}
        for i, token in enumerate(tokens):
            if token in first:
                raise ValueError(
                    f"{source} has {duplicates} duplicate token(s), e.g. {token!r} at lines "
                    f"{first[token] + 1} and {i + 1}: its ids would be ambiguous.")
            first[token] = i
    return tokens
