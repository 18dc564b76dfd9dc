"""Where each preset layout keeps its vocabulary, and whether its tokenizer lower-cases."""

import json
import os

from keras_bert_repro.presets.file_io import write_json, write_tokens

# Google, HF and ours keep `vocab.txt`; keras-hub keeps it under assets/.
VOCAB_PATHS = ("vocab.txt", os.path.join("assets", "tokenizer", "vocabulary.txt"))
# (file, key) of the casing flag in HF's, keras-hub's and our tokenizer configs.
CASING_KEYS = (("tokenizer_config.json", "do_lower_case"), ("tokenizer.json", "lowercase"),
               ("config.json", "lowercase"))


def vocabulary_file(path):
    """The vocabulary file of the preset directory `path`, in any supported layout."""
    for name in VOCAB_PATHS:
        file = os.path.join(path, name)
        if os.path.isfile(file):
            return file
    raise FileNotFoundError(
        f"Preset {path} has no vocabulary: looked for {', '.join(VOCAB_PATHS)}."
    )


def tokenizer_lowercase(path):
    """Whether the preset's tokenizer lower-cases, from its tokenizer config (HF
    `tokenizer_config.json`, keras-hub `tokenizer.json`, ours); None when no file
    says (Google's releases: the vocabulary tells)."""
    for name, key in CASING_KEYS:
        file = os.path.join(path, name)
        if os.path.isfile(file):
            with open(file, encoding="utf-8") as f:
                data = json.load(f)
            data = data.get("config", data) if isinstance(data, dict) else {}
            if isinstance(data, dict) and key in data:
                return bool(data[key])
    return None

def infer_lowercase(tokens):
    """True when no ordinary word of the vocabulary has an upper-case letter."""
    words = [t for t in tokens if not (t.startswith("[") and t.endswith("]"))]
    return not any(t != t.lower() for t in words)


def write_tokenizer_files(preset_dir, tokens, lowercase):
    """`vocab.txt` and the casing (`do_lower_case` in `tokenizer_config.json`, kept
    beside any other keys the file has): what every tokenizer loader here, and HF's,
    reads back."""
    os.makedirs(preset_dir, exist_ok=True)
    write_tokens(os.path.join(preset_dir, VOCAB_PATHS[0]), tokens)
    config_file = os.path.join(preset_dir, CASING_KEYS[0][0])
    config = {}
    if os.path.isfile(config_file):
        with open(config_file, encoding="utf-8") as f:
            config = json.load(f)
    config.setdefault("tokenizer_class", "BertTokenizer")
    config[CASING_KEYS[0][1]] = bool(lowercase)
    write_json(config_file, config)
