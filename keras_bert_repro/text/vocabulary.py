"""WordPiece vocabularies: reading them from files, lists and preset directories."""

import json
import os

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
# Where each preset layout keeps its vocabulary.
VOCAB_PATHS = ("vocab.txt", os.path.join("assets", "tokenizer", "vocabulary.txt"))


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


def preset_vocabulary_file(path):
    """The vocabulary file of a preset directory in any supported layout."""
    for name in VOCAB_PATHS:
        file = os.path.join(path, name)
        if os.path.isfile(file):
            return file
    raise FileNotFoundError(
        f"Preset {path} has no vocabulary: looked for {', '.join(VOCAB_PATHS)}."
    )


def preset_lowercase(path, tokens):
    """Whether a preset's tokenizer lower-cases: from its tokenizer config when it
    has one (HF `tokenizer_config.json`, keras-hub `tokenizer.json`, ours), else
    from the vocabulary (a cased vocabulary holds capitalised words)."""
    for name, key in (("tokenizer_config.json", "do_lower_case"),
                      ("tokenizer.json", "lowercase"),
                      ("config.json", "lowercase")):
        file = os.path.join(path, name)
        if os.path.isfile(file):
            with open(file, encoding="utf-8") as f:
                data = json.load(f)
            data = data.get("config", data) if isinstance(data, dict) else {}
            if isinstance(data, dict) and key in data:
                return bool(data[key])
    return infer_lowercase(tokens)


def infer_lowercase(tokens):
    """True when no ordinary word of the vocabulary has an upper-case letter."""
    words = [t for t in tokens if not (t.startswith("[") and t.endswith("]"))]
    return not any(t != t.lower() for t in words)
