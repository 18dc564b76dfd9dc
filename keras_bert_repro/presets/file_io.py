"""The two small writes every layout makes: a JSON file and a token-per-line vocabulary."""

import json
import os


def write_json(file, data):
    """Writes `data` as indented UTF-8 JSON, creating the folder."""
    os.makedirs(os.path.dirname(file) or ".", exist_ok=True)
    with open(file, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)


def write_tokens(file, tokens):
    """Writes one token per line (`vocab.txt`), creating the folder."""
    os.makedirs(os.path.dirname(file) or ".", exist_ok=True)
    with open(file, "w", encoding="utf-8") as f:
        f.write("".join(token + "\n" for token in tokens))
