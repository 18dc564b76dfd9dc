"""Writes an HF transformers BERT directory: `config.json`, `model.safetensors`,
`vocab.txt`, `tokenizer.json`, `tokenizer_config.json`, `special_tokens_map.json`.

`transformers.AutoModel*.from_pretrained(path)` and `AutoTokenizer` load it
unchanged; the architecture named in `config.json` is the task's `BertFor*` class.
"""

import os

import numpy as np

from keras_bert_repro.presets.file_io import write_json, write_tokens
from keras_bert_repro.presets.hf import (
    ARCHITECTURES, HF_HEAD_NAMES, HF_TASK_HEAD_NAMES, google_name_to_hf)

MASKED_LM_TASKS = ("pretraining", "masked_lm")
# HF builds these classes' encoder without the pooler (add_pooling_layer=False).
_NO_POOLER = ("masked_lm", "token_classification", "question_answering")
_HF_ACTIVATION = {"gelu": "gelu", "gelu_approximate": "gelu_new"}
SPECIAL_TOKENS = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                  "cls_token": "[CLS]", "mask_token": "[MASK]"}


def hf_config(checkpoint):
    """The `config.json` transformers reads for `checkpoint`."""
    config = checkpoint.config
    data = {
        "architectures": [ARCHITECTURES[checkpoint.task]],
        "model_type": "bert",
        "vocab_size": config["vocabulary_size"],
        "hidden_size": config["hidden_dim"],
        "num_hidden_layers": config["num_layers"],
        "num_attention_heads": config["num_heads"],
        "intermediate_size": config["intermediate_dim"],
        "hidden_act": _HF_ACTIVATION[config["activation"]],
        "hidden_dropout_prob": config["dropout"],
        "attention_probs_dropout_prob": config["attention_dropout"],
        "max_position_embeddings": config["max_sequence_length"],
        "type_vocab_size": config["num_segments"],
        "layer_norm_eps": config["layer_norm_epsilon"],
        "initializer_range": 0.02,
        "pad_token_id": checkpoint.vocabulary.index("[PAD]"),
        "tie_word_embeddings": True,
    }
    if checkpoint.task in ("sequence_classification", "token_classification"):
        names = checkpoint.label_names or [f"LABEL_{i}" for i in range(checkpoint.num_labels)]
        data["id2label"] = {str(i): name for i, name in enumerate(names)}
        data["label2id"] = {name: i for i, name in enumerate(names)}
        if checkpoint.task == "sequence_classification":
            data["problem_type"] = ("regression" if checkpoint.num_labels == 1
                                    else "single_label_classification")
    return data


def hf_tensors(checkpoint):
    """`{hf_name: ndarray}` for `model.safetensors`."""
    # HF's BertModel keeps its weights without the `bert.` prefix; every BertFor*
    # class holds the encoder under it.
    strip = checkpoint.task == "backbone"
    heads = {google: (hf, transpose) for hf, (google, transpose) in HF_HEAD_NAMES.items()
             if hf != "cls.predictions.decoder.bias"}
    tensors = {}
    for name, value in checkpoint.arrays.items():
        if name.startswith("bert/pooler/") and checkpoint.task in _NO_POOLER:
            continue
        if name.startswith("bert/"):
            hf_name, transpose = google_name_to_hf(name)
            if strip:
                hf_name = hf_name[len("bert."):]
        elif name in heads:
            hf_name, transpose = heads[name]
        elif name in HF_TASK_HEAD_NAMES:
            hf_name, transpose = HF_TASK_HEAD_NAMES[name], False
        else:
            raise ValueError(f"No HF name for weight {name!r}.")
        value = np.asarray(value, dtype=np.float32)
        tensors[hf_name] = np.ascontiguousarray(value.T if transpose else value)
    return tensors


def special_tokens(checkpoint):
    """HF's special-token map, with only the tokens the vocabulary has."""
    return {key: token for key, token in SPECIAL_TOKENS.items()
            if token in checkpoint.vocabulary}


def tokenizer_config(checkpoint):
    """`tokenizer_config.json`: the model's casing, length and special tokens.

    The class is the generic fast tokenizer over `tokenizer.json` because
    transformers 5's `BertTokenizer` rebuilds its WordPiece from `vocab.txt` and
    turns words over 100 characters into `[UNK]` (Google's limit, and ours, is 200).
    `split_special_tokens`: a literal "[CLS]" in the text is text, as in Google's
    tokenizer and ours, not the special token; masked-LM models keep HF's default
    (a literal "[MASK]" is the mask token), which `pipeline("fill-mask")` needs."""
    return {"tokenizer_class": "PreTrainedTokenizerFast", "do_lower_case": checkpoint.lowercase,
            "model_input_names": ["input_ids", "token_type_ids", "attention_mask"],
            "tokenize_chinese_chars": True, "strip_accents": None,
            "model_max_length": checkpoint.config["max_sequence_length"],
            "split_special_tokens": checkpoint.task not in MASKED_LM_TASKS,
            "clean_up_tokenization_spaces": False, **special_tokens(checkpoint)}


def fast_tokenizer(checkpoint):
    """`tokenizer.json` (HF tokenizers' WordPiece), written out so that words up to
    Google's 200 characters split into pieces (HF converts vocab.txt with 100)."""
    vocab = {token: i for i, token in enumerate(checkpoint.vocabulary)}

    def special(token):
        return {"id": vocab[token], "type_id": 0}

    cls, sep = SPECIAL_TOKENS["cls_token"], SPECIAL_TOKENS["sep_token"]
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": vocab[t], "content": t, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}
                         for t in special_tokens(checkpoint).values()],
        "normalizer": {"type": "BertNormalizer", "clean_text": True,
                       "handle_chinese_chars": True, "strip_accents": None,
                       "lowercase": checkpoint.lowercase},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": cls, "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": sep, "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": cls, "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": sep, "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": sep, "type_id": 1}}],
            "special_tokens": {t: {"id": t, "ids": [vocab[t]], "tokens": [t]}
                               for t in (cls, sep)}},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": SPECIAL_TOKENS["unk_token"],
                  "continuing_subword_prefix": "##", "max_input_chars_per_word": 200,
                  "vocab": vocab},
    }


def write_hf(directory, checkpoint):
    """Writes `checkpoint` into the (new, empty) `directory` in HF's layout."""
    try:
        from safetensors.numpy import save_file
    except ImportError:
        raise ImportError("Writing an HF checkpoint needs safetensors "
                          "(pip install 'keras_bert_repro[hf]').") from None
    save_file(hf_tensors(checkpoint), os.path.join(directory, "model.safetensors"),
              metadata={"format": "pt"})
    write_json(os.path.join(directory, "config.json"), hf_config(checkpoint))
    write_json(os.path.join(directory, "tokenizer_config.json"), tokenizer_config(checkpoint))
    write_json(os.path.join(directory, "special_tokens_map.json"), special_tokens(checkpoint))
    write_json(os.path.join(directory, "tokenizer.json"), fast_tokenizer(checkpoint))
    write_tokens(os.path.join(directory, "vocab.txt"), checkpoint.vocabulary)
