"""Corrupt files get one clear error naming the file and the problem (issue 25): weights
truncated, empty, of the wrong dtype or shape in every layout `from_preset` reads;
configs cut short or contradicting their weights; broken vocabularies; malformed rows
of the GLUE, CoNLL and SQuAD readers (named by file and line, or left out and counted
with `skip_bad_rows`). Never a shape error deep in Keras, never a silently wrong model."""

import json
import os
import re
import shutil
import warnings

import h5py
import numpy as np
import pytest

import keras_bert_repro as kbr
from keras_bert_repro.data import read_conll, read_glue, read_squad
from keras_bert_repro.presets import CorruptPreset

pytestmark = pytest.mark.backend_independent  # file readers; one backend's pass runs them

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "dog", "sat", "."]
FORMATS = ("own", "hf", "keras_hub", "google")
WEIGHTS = {"own": "model.weights.h5", "hf": "model.safetensors",
           "keras_hub": "model.weights.h5", "google": "bert_model.ckpt.data-00000-of-00001"}
CONFIGS = {"own": "config.json", "hf": "config.json", "keras_hub": "config.json",
           "google": "bert_config.json"}


@pytest.fixture(scope="module")
def presets_dir(tmp_path_factory):
    """A tiny backbone saved in each layout."""
    root = tmp_path_factory.mktemp("presets")
    backbone = kbr.BertBackbone(vocabulary_size=len(VOCAB), num_layers=1, num_heads=2,
                                hidden_dim=4, intermediate_dim=8, max_sequence_length=8,
                                activation="gelu_approximate")
    for fmt in FORMATS:
        backbone.save_to_preset(str(root / fmt), vocabulary=VOCAB, format=fmt)
    return root


def _copy(presets_dir, fmt, tmp_path):
    target = tmp_path / fmt
    shutil.copytree(presets_dir / fmt, target)
    return target


def _one_clear_error(path, file_name, match=None):
    """from_preset raises one short error that names the file."""
    with pytest.raises((CorruptPreset, ValueError)) as caught:
        kbr.BertBackbone.from_preset(str(path))
    message = str(caught.value)
    assert file_name in message, message
    assert message.count("\n") <= 1 and len(message) < 600, message
    if match:
        assert re.search(match, message), message
    return message


def _rewrite_h5(file, change):
    """Applies `change(name, array) -> array or None` to every dataset of an HDF5 file."""
    with h5py.File(file, "r+") as f:
        names = []
        f.visititems(lambda n, item: names.append(n) if isinstance(item, h5py.Dataset) else None)
        for name in names:
            new = change(name, f[name][()])
            if new is not None:
                del f[name]
                f.create_dataset(name, data=new)


def _rewrite_weights(path, fmt, change):
    """Rewrites the weights of the preset `path` through `change(name, array)`."""
    file = os.path.join(path, WEIGHTS[fmt])
    if fmt == "hf":
        from safetensors.numpy import load_file, save_file

        tensors = load_file(file)
        save_file({k: _changed(change, k, v) for k, v in tensors.items()}, file)
    elif fmt == "google":
        import tensorflow as tf

        prefix = os.path.join(path, "bert_model.ckpt")
        reader = tf.train.load_checkpoint(prefix)
        names = sorted(reader.get_variable_to_shape_map())
        values = [reader.get_tensor(n) for n in names]
        values = [_changed(change, n, v) for n, v in zip(names, values)]
        tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                          tensors=[tf.constant(v) for v in values])
    else:
        _rewrite_h5(file, change)


def _changed(change, name, value):
    new = change(name, value)
    return value if new is None else new


def _first_matrix(name, value):
    """The first weight matrix met: the one each corruption changes."""
    return value.ndim == 2 and value.shape[0] > 4


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_and_truncated_weights_name_the_file(presets_dir, tmp_path, fmt):
    for cut in ("empty", "half"):
        path = _copy(presets_dir, fmt, tmp_path / cut)
        file = os.path.join(path, WEIGHTS[fmt])
        size = os.path.getsize(file)
        with open(file, "r+b") as f:
            f.truncate(0 if cut == "empty" else size // 2)
        _one_clear_error(path, WEIGHTS[fmt] if fmt != "google" else "bert_model.ckpt")


@pytest.mark.parametrize("fmt", FORMATS)
def test_weights_of_the_wrong_dtype_or_shape_are_refused(presets_dir, tmp_path, fmt):
    changed = []

    def to_int(name, value):
        if _first_matrix(name, value) and not changed:
            changed.append(name)
            return np.round(value * 100).astype(np.int32)
        return None

    path = _copy(presets_dir, fmt, tmp_path / "dtype")
    _rewrite_weights(path, fmt, to_int)
    _one_clear_error(path, WEIGHTS[fmt] if fmt != "google" else "bert_model.ckpt", "int32")

    def wider(name, value):
        if value.ndim == 1 and value.shape[0] == 4 and ("gamma" in name or "LayerNorm" in name
                                                        or "layer_norm" in name or
                                                        name.endswith("vars/0")):
            return np.ones(5, value.dtype)
        return None

    path = _copy(presets_dir, fmt, tmp_path / "shape")
    _rewrite_weights(path, fmt, wider)
    _one_clear_error(path, WEIGHTS[fmt] if fmt != "google" else "bert_model.ckpt",
                     r"\(5,\)|\[5\]")  # numpy's or torch's shape


@pytest.mark.parametrize("fmt", FORMATS)
def test_configs_cut_short_or_contradicting_the_weights(presets_dir, tmp_path, fmt):
    config = CONFIGS[fmt]
    path = _copy(presets_dir, fmt, tmp_path / "cut")
    file = os.path.join(path, config)
    with open(file, "r+b") as f:
        f.truncate(os.path.getsize(file) // 2)
    _one_clear_error(path, config)

    path = _copy(presets_dir, fmt, tmp_path / "sizes")
    _set_size(path, config, ("intermediate_dim", "intermediate_size"), 16)  # weights hold 8
    _one_clear_error(path, WEIGHTS[fmt] if fmt != "google" else "bert_model.ckpt")

    path = _copy(presets_dir, fmt, tmp_path / "zero")
    _set_size(path, config, ("num_heads", "num_attention_heads"), 3)  # does not divide 4
    _one_clear_error(path, config, "not a multiple of num_heads=3")


def _set_size(path, config, keys, value):
    """Sets one size in the preset's config file: our name or HF's (`keys`)."""
    file = os.path.join(path, config)
    with open(file, encoding="utf-8") as f:
        data = json.load(f)
    sizes = data["config"] if "config" in data else data
    sizes[keys[0] if keys[0] in sizes else keys[1]] = value
    with open(file, "w", encoding="utf-8") as f:
        json.dump(data, f)


def test_broken_vocabularies_name_the_file_and_the_token(tmp_path):
    cases = {
        "empty.txt": ("", "lacks the special token(s) ['[UNK]', '[CLS]', '[SEP]', '[PAD]'] "
                          "(it is empty)"),
        "no_unk.txt": ("\n".join(t for t in VOCAB if t != "[UNK]"), "lacks the special "
                       "token(s) ['[UNK]']"),
        "twice.txt": ("\n".join([*VOCAB, "dog"]), "1 duplicate token(s), e.g. 'dog' at lines "
                      "7 and 10"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        with pytest.raises(ValueError, match=r"Vocabulary file .*" + name) as caught:
            kbr.BertTokenizer(str(tmp_path / name))
        assert message in str(caught.value)
    (tmp_path / "latin1.txt").write_bytes("\n".join(VOCAB + ["caf\xe9"]).encode("latin-1"))
    with pytest.raises(ValueError, match="latin1.txt is not UTF-8 text"):
        kbr.BertTokenizer(str(tmp_path / "latin1.txt"))
    # Masking needs [MASK]: a pre-training preprocessor on a vocabulary without it says so.
    no_mask = kbr.BertTokenizer([t for t in VOCAB if t != "[MASK]"])
    with pytest.raises(ValueError, match=r"special token\(s\) \['\[MASK\]'\]"):
        kbr.BertPretrainingPreprocessor(no_mask, sequence_length=8, max_predictions_per_seq=2)


def _glue(tmp_path, rows):
    folder = tmp_path / "glue" / "SST-2"
    folder.mkdir(parents=True)
    (folder / "train.tsv").write_text("sentence\tlabel\n" + "".join(r + "\n" for r in rows),
                                      encoding="utf-8")
    return str(tmp_path / "glue")


def test_malformed_glue_rows_are_named_or_skipped_and_counted(tmp_path):
    data = _glue(tmp_path, ["a fine film\t1", "no label here", "dull\tmaybe", "good\t0"])
    with pytest.raises(ValueError, match=r"train.tsv:3: malformed row .*no label here.*"
                                         r"skip_bad_rows=True"):
        read_glue(data, "sst2", "train")
    with pytest.warns(UserWarning, match=r"train.tsv: skipped 2 malformed row\(s\); the "
                                         r"first: .*train.tsv:3"):
        texts, labels = read_glue(data, "sst2", "train", skip_bad_rows=True)
    assert texts == ["a fine film", "good"] and labels == [1, 0]


def test_malformed_conll_lines_are_named_or_their_sentence_skipped(tmp_path):
    text = "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nGerman\nthing NN I-NP O\n\nPeter NNP B-NP B-PER\n"
    (tmp_path / "train.txt").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=r"train.txt:4: expected a word and its tag"):
        read_conll(str(tmp_path), "train")
    with pytest.warns(UserWarning, match=r"skipped 1 malformed row"):
        words, tags = read_conll(str(tmp_path), "train", skip_bad_rows=True)
    assert words == [["EU", "rejects"], ["Peter"]] and tags == [["B-ORG", "O"], ["B-PER"]]


def test_squad_files_cut_short_or_with_broken_questions(tmp_path):
    context = "The dog sat on the mat."
    data = {"data": [{"title": "t", "paragraphs": [{"context": context, "qas": [
        {"id": "ok", "question": "Where?", "answers": [{"text": "the mat", "answer_start": 15}]},
        {"id": "moved", "question": "Who?", "answers": [{"text": "dog", "answer_start": 0}]},
        {"id": "bare", "answers": []},
    ]}]}, {"title": "no paragraphs"}]}
    file = tmp_path / "squad.json"
    file.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match=r"squad.json:question moved: answer 'dog' is not at "
                                         r"character 0"):
        read_squad(str(file))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        examples = read_squad(str(file), skip_bad_rows=True)
    assert [e.id for e in examples] == ["ok"]
    assert "skipped 3 malformed row(s)" in str(caught[-1].message)
    short = tmp_path / "short.json"
    short.write_text(json.dumps(data)[:100], encoding="utf-8")
    with pytest.raises(ValueError, match=r"short.json is not valid JSON \(line 1, column "
                                         r"\d+: .*\); is it cut short\?"):
        read_squad(str(short))
