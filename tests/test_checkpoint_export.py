"""Checkpoints out: `save_to_preset(format=...)` writes HF transformers, keras-hub and
Google's layouts that those tools load unchanged, with our outputs (1e-5) and ids."""

import json
import os

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_bert_repro as kbr
from keras_bert_repro import presets
from tests.bert_tokenization_oracle import FullTokenizer
from tests.conftest import shared_data, to_numpy
from tests.tokenizer_hard_cases import HARD_CASES

TOL = 1e-5


@pytest.fixture(scope="module")
def vocab(minilm_dir):
    return os.path.join(minilm_dir, "vocab.txt")


@pytest.fixture(scope="module")
def minilm(minilm_dir):
    """The real checkpoint with its exact GELU (what HF's config says)."""
    return kbr.BertBackbone.from_preset(minilm_dir)


@pytest.fixture(scope="module")
def minilm_tanh(minilm_dir):
    """The same weights with GELU's tanh form, which keras-hub and Google's code compute."""
    return kbr.BertBackbone.from_preset(minilm_dir, activation="gelu_approximate")


def torch_inputs(batch):
    import torch

    return {"input_ids": torch.tensor(batch["token_ids"]),
            "token_type_ids": torch.tensor(batch["segment_ids"]),
            "attention_mask": torch.tensor(batch["padding_mask"])}


def run_hf(model, batch):
    import torch

    with torch.no_grad():
        return model.eval()(**torch_inputs(batch))


def load_hf(cls_name, path):
    """`transformers.<cls_name>.from_pretrained(path)`, asserting every weight was found."""
    import transformers

    model, info = getattr(transformers, cls_name).from_pretrained(path, output_loading_info=True)
    assert not info["missing_keys"], info["missing_keys"]
    assert not info["mismatched_keys"], info["mismatched_keys"]
    assert not info["unexpected_keys"], info["unexpected_keys"]
    return model


def assert_close(ours, theirs, what):
    diff = float(np.abs(np.asarray(ours) - np.asarray(theirs)).max())
    assert diff <= TOL, f"{what} differs by {diff}"


def real(x, batch):
    """The rows of `[batch, seq, ...]` at real (unpadded) tokens."""
    return np.asarray(x)[np.asarray(batch["padding_mask"]).astype(bool)]


def test_backbone_in_hf_layout_is_a_transformers_bert_model(minilm, vocab, padded_pair_batch,
                                                            tmp_path):
    minilm.save_to_preset(tmp_path / "hf", vocabulary=vocab, format="hf")
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert config["architectures"] == ["BertModel"]
    assert (config["hidden_act"], config["layer_norm_eps"], config["vocab_size"],
            config["max_position_embeddings"], config["type_vocab_size"]) == (
        "gelu", 1e-12, 30522, 512, 2)
    out = run_hf(load_hf("BertModel", tmp_path / "hf"), padded_pair_batch)
    ours = minilm(padded_pair_batch)
    assert_close(real(to_numpy(ours["sequence_output"]), padded_pair_batch),
                 real(out.last_hidden_state.numpy(), padded_pair_batch), "sequence_output")
    assert_close(to_numpy(ours["pooled_output"]), out.pooler_output.numpy(), "pooled_output")
    # ... and this library reads it back bit for bit.
    again = kbr.BertBackbone.from_preset(str(tmp_path / "hf"))
    assert again.activation == "gelu"
    for a, b in zip(minilm.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


def _multiple_choice_batch(batch):
    return {name: value[None] for name, value in batch.items()}  # 1 question, 3 endings


TASKS = {
    # name: (build, HF class, HF output -> ours, inputs)
    "classifier": (lambda bb: kbr.BertClassifier(bb, 3), "BertForSequenceClassification",
                   lambda out: out.logits.numpy(), None),
    "regressor": (lambda bb: kbr.BertClassifier(bb, 1), "BertForSequenceClassification",
                  lambda out: out.logits.numpy(), None),
    "token_classifier": (
        lambda bb: kbr.BertTokenClassifier(bb, label_names=["O", "B-GENE", "I-GENE"]),
        "BertForTokenClassification", lambda out: out.logits.numpy(), None),
    "question_answerer": (
        kbr.BertQuestionAnswerer, "BertForQuestionAnswering",
        lambda out: np.stack([out.start_logits.numpy(), out.end_logits.numpy()], axis=1),
        None),
    "multiple_choice": (lambda bb: kbr.BertMultipleChoice(bb, num_choices=3),
                        "BertForMultipleChoice", lambda out: out.logits.numpy(),
                        _multiple_choice_batch),
}


@pytest.mark.parametrize("task", sorted(TASKS))
def test_each_task_in_hf_layout_is_its_bert_for_class(task, minilm, vocab, padded_pair_batch,
                                                      tmp_path):
    build, hf_class, hf_output, make_inputs = TASKS[task]
    keras.utils.set_random_seed(0)
    model = build(minilm)
    model.save_to_preset(tmp_path / task, vocabulary=vocab, format="hf")
    inputs = make_inputs(padded_pair_batch) if make_inputs else padded_pair_batch
    theirs = hf_output(run_hf(load_hf(hf_class, tmp_path / task), inputs))
    ours = to_numpy(model(inputs))
    if task == "token_classifier":
        ours, theirs = real(ours, inputs), real(theirs, inputs)
    if task == "question_answerer":
        mask = np.asarray(inputs["padding_mask"]).astype(bool)[:, None, :].repeat(2, axis=1)
        ours, theirs = ours[mask], theirs[mask]
    assert_close(ours, theirs, f"{task} logits")
    # This library reads the whole task back: the head, its size and its labels.
    reload = {"multiple_choice": {"num_choices": 3}}.get(task, {})
    again = type(model).from_preset(str(tmp_path / task), **reload)
    np.testing.assert_array_equal(to_numpy(again(inputs)), to_numpy(model(inputs)))
    config = json.loads((tmp_path / task / "config.json").read_text())
    if task == "token_classifier":
        assert config["id2label"] == {"0": "O", "1": "B-GENE", "2": "I-GENE"}
        assert again.label_names == ["O", "B-GENE", "I-GENE"]
    if task == "regressor":
        assert config["problem_type"] == "regression"


def _trained_tiny_pretrainer(objective, activation):
    """A BERT-Tiny (L2/H128) with the real vocabulary, trained a few steps so that
    its heads are no longer at their initialisation."""
    keras.utils.set_random_seed(0)
    backbone = kbr.BertBackbone(vocabulary_size=30522, num_layers=2, num_heads=2, hidden_dim=128,
                                intermediate_dim=512, max_sequence_length=64, dropout=0.0,
                                activation=activation)
    model = kbr.BertPretrainer(backbone, objective=objective)
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 30000, size=(8, 24)).astype("int32")
    x = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids),
         "mask_positions": np.tile(np.arange(1, 21, 4, dtype="int32"), (8, 1))}
    y = {"mlm": np.take_along_axis(ids, x["mask_positions"], axis=1)}
    if objective == "mlm_nsp":
        y["nsp"] = rng.integers(0, 2, size=8).astype("int32")
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(x, y, batch_size=8, epochs=3, verbose=0)
    return model


def _mask_positions(batch):
    return dict(batch, mask_positions=np.array([[1, 5, 20, 23], [2, 3, 9, 16], [1, 2, 3, 4]],
                                               "int32"))


def _hf_mlm(out, inputs):
    logits = out.prediction_logits if hasattr(out, "prediction_logits") else out.logits
    return np.take_along_axis(logits.numpy(), inputs["mask_positions"][..., None], axis=1)


@pytest.mark.parametrize("objective,hf_class", [("mlm_nsp", "BertForPreTraining"),
                                                ("mlm", "BertForMaskedLM")])
def test_pretrainer_in_hf_layout_predicts_the_same_token_ids(objective, hf_class, vocab,
                                                             padded_pair_batch, tmp_path):
    import transformers

    model = _trained_tiny_pretrainer(objective, "gelu")
    model.save_to_preset(tmp_path / "hf", vocabulary=vocab, format="hf")
    inputs = _mask_positions(padded_pair_batch)
    out = run_hf(load_hf(hf_class, tmp_path / "hf"), inputs)
    ours = model(inputs)
    mlm = _hf_mlm(out, inputs)
    np.testing.assert_array_equal(to_numpy(ours["mlm"]).argmax(-1), mlm.argmax(-1))
    # transformers' fill-mask finds the mask token in text (HF's default for BERT).
    tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    assert tokenizer("paris is the [MASK] of france")["input_ids"][4] == tokenizer.mask_token_id
    assert_close(to_numpy(ours["mlm"]), mlm, "MLM logits")
    if objective == "mlm_nsp":
        assert_close(to_numpy(ours["nsp"]), out.seq_relationship_logits.numpy(), "NSP logits")
    # This library's loader takes the heads back too.
    again = kbr.BertPretrainer.from_preset(str(tmp_path / "hf"), objective=objective,
                                         sequence_length=64)
    assert_close(to_numpy(again(inputs)["mlm"]), to_numpy(ours["mlm"]), "reloaded MLM logits")


def test_keras_hub_loads_our_backbone_and_classifier(minilm_tanh, vocab, padded_pair_batch,
                                                     tmp_path):
    import keras_hub

    keras.utils.set_random_seed(0)
    classifier = kbr.BertClassifier(minilm_tanh, 3)
    classifier.save_to_preset(tmp_path / "kh", vocabulary=vocab, format="keras_hub")
    backbone = keras_hub.models.BertBackbone.from_preset(str(tmp_path / "kh"))
    theirs, ours = backbone(padded_pair_batch), minilm_tanh(padded_pair_batch)
    assert_close(real(to_numpy(ours["sequence_output"]), padded_pair_batch),
                 real(to_numpy(theirs["sequence_output"]), padded_pair_batch), "sequence_output")
    assert_close(to_numpy(ours["pooled_output"]), to_numpy(theirs["pooled_output"]),
                 "pooled_output")
    task = keras_hub.models.BertTextClassifier.from_preset(str(tmp_path / "kh"))
    assert_close(to_numpy(classifier(padded_pair_batch)), to_numpy(task(padded_pair_batch)),
                 "classifier logits")
    # ... and so does this library, head and size included.
    again = kbr.BertClassifier.from_preset(str(tmp_path / "kh"))
    assert again.num_classes == 3
    np.testing.assert_array_equal(to_numpy(again(padded_pair_batch)),
                                  to_numpy(classifier(padded_pair_batch)))


def _tf_variables(prefix):
    return dict(tf.train.list_variables(str(prefix)))


def test_google_layout_holds_modeling_py_names_and_loads_back(minilm_tanh, vocab,
                                                              padded_pair_batch, tmp_path):
    keras.utils.set_random_seed(0)
    minilm_tanh.save_to_preset(tmp_path / "google", vocabulary=vocab, format="google")
    config = json.loads((tmp_path / "google" / "bert_config.json").read_text())
    assert (config["hidden_act"], config["vocab_size"], config["num_hidden_layers"]) == (
        "gelu", 30522, 6)
    variables = _tf_variables(tmp_path / "google" / "bert_model.ckpt")
    assert variables["bert/encoder/layer_5/attention/self/query/kernel"] == [384, 384]
    assert variables["bert/embeddings/word_embeddings"] == [30522, 384]
    assert len(variables) == 5 + 2 + 16 * 6  # embeddings, pooler, 16 per block
    again = kbr.BertBackbone.from_preset(str(tmp_path / "google"))
    assert again.activation == "gelu_approximate"
    assert_close(to_numpy(again(padded_pair_batch)["pooled_output"]),
                 to_numpy(minilm_tanh(padded_pair_batch)["pooled_output"]), "pooled_output")
    # The task heads under run_classifier.py's and run_squad.py's names.
    classifier = kbr.BertClassifier(minilm_tanh, 3)
    classifier.save_to_preset(tmp_path / "clf", vocabulary=vocab, format="google")
    variables = _tf_variables(tmp_path / "clf" / "bert_model.ckpt")
    assert (variables["output_weights"], variables["output_bias"]) == ([3, 384], [3])
    reader = tf.train.load_checkpoint(str(tmp_path / "clf" / "bert_model.ckpt"))
    np.testing.assert_array_equal(reader.get_tensor("output_weights"),
                                  to_numpy(classifier.get_layer("logits").kernel).T)
    again = kbr.BertClassifier.from_preset(str(tmp_path / "clf"))
    np.testing.assert_array_equal(to_numpy(again(padded_pair_batch)),
                                  to_numpy(classifier(padded_pair_batch)))
    kbr.BertQuestionAnswerer(minilm_tanh).save_to_preset(tmp_path / "qa", vocabulary=vocab,
                                                         format="google")
    variables = _tf_variables(tmp_path / "qa" / "bert_model.ckpt")
    assert variables["cls/squad/output_weights"] == [2, 384]


def test_pretrainer_goes_to_keras_hub_as_its_encoder(vocab, padded_pair_batch, tmp_path):
    import keras_hub

    model = _trained_tiny_pretrainer("mlm_nsp", "gelu_approximate")
    tokens = kbr.BertTokenizer(vocab).vocabulary
    model.preprocessor = kbr.BertPretrainingPreprocessor(kbr.BertTokenizer(tokens),
                                                         sequence_length=64)
    kbr.models.check_savable(model, "keras_hub")
    model.save_to_preset(tmp_path / "kh", format="keras_hub")  # vocabulary from its tokenizer
    hub = keras_hub.models.BertBackbone.from_preset(str(tmp_path / "kh"))
    assert_close(to_numpy(model.backbone(padded_pair_batch)["pooled_output"]),
                 to_numpy(hub(padded_pair_batch)["pooled_output"]), "pooled_output")


def test_google_pretraining_heads_load_back(vocab, padded_pair_batch, tmp_path):
    model = _trained_tiny_pretrainer("mlm_nsp", "gelu_approximate")
    model.save_to_preset(tmp_path / "google", vocabulary=vocab, format="google")
    again = kbr.BertPretrainer.from_preset(str(tmp_path / "google"), sequence_length=64)
    inputs = _mask_positions(padded_pair_batch)
    ours, theirs = model(inputs), again(inputs)
    for name in ("mlm", "nsp"):
        assert_close(to_numpy(ours[name]), to_numpy(theirs[name]), f"{name} logits")


@pytest.fixture(scope="module")
def written_tokenizers(minilm_tanh, tmp_path_factory):
    """The tokenizer files of each layout, for an uncased and a cased vocabulary."""
    root = tmp_path_factory.mktemp("tokenizers")
    dirs = {}
    for casing in ("uncased", "cased"):
        vocab = str(shared_data("vocab", f"bert-base-{casing}-vocab.txt"))
        tokens = kbr.BertTokenizer(vocab).vocabulary
        keras.utils.set_random_seed(0)
        backbone = kbr.BertBackbone(vocabulary_size=len(tokens), num_layers=1, num_heads=2,
                                    hidden_dim=16, intermediate_dim=32,
                                    activation="gelu_approximate")
        for fmt in ("hf", "keras_hub", "google"):
            dirs[casing, fmt] = root / f"{casing}_{fmt}"
            backbone.save_to_preset(dirs[casing, fmt], vocabulary=vocab, format=fmt)
        dirs[casing, "vocab"] = vocab
    return dirs


# Where HF's Rust normalizer lower-cases differently from Python's str.lower(), which
# Google's tokenizer and ours follow: a word-final capital sigma becomes "σ", not "ς".
HF_OWN_DIFFERENCES = {"uncased": ["ΟΔΟΣ ΣΟΦΟΣ — Greek final sigma; Ἀθῆναι"], "cased": []}


def sst2_sentences():
    with open(shared_data("glue", "SST-2", "dev.tsv"), encoding="utf-8") as f:
        return [line.split("\t")[0] for line in f.read().splitlines()[1:]]


@pytest.mark.parametrize("casing", ["uncased", "cased"])
def test_each_layouts_tokenizer_gives_our_ids(casing, written_tokenizers):
    import keras_hub
    import transformers

    ours = kbr.BertTokenizer(written_tokenizers[casing, "vocab"])
    assert ours.lowercase == (casing == "uncased")
    texts = HARD_CASES + sst2_sentences()[:300]
    expected = [list(map(int, row)) for row in ours(texts).to_list()]
    # HF: every hard case but its own lower-casing of a final sigma.
    hf = transformers.AutoTokenizer.from_pretrained(written_tokenizers[casing, "hf"])
    differ = [t for t, ids in zip(texts, expected)
              if hf(t, add_special_tokens=False)["input_ids"] != ids]
    assert differ == HF_OWN_DIFFERENCES[casing]
    pair = hf("hello world", "again")
    assert pair["input_ids"][0] == ours.token_to_id("[CLS]")
    assert pair["token_type_ids"] == [0, 0, 0, 0, 1, 1]
    # keras-hub: its tokenizer reads our files as its own settings, and gives our ids
    # on real text. (Its WordPiece differs from Google's on control characters,
    # Hangul, full-width forms and long words, whatever the files say.)
    hub = keras_hub.models.BertTokenizer.from_preset(str(written_tokenizers[casing, "keras_hub"]))
    direct = keras_hub.models.BertTokenizer(vocabulary=ours.vocabulary, lowercase=ours.lowercase,
                                            strip_accents=ours.lowercase)
    for text in HARD_CASES:
        np.testing.assert_array_equal(to_numpy(hub(text)), to_numpy(direct(text)))
    real_text = sst2_sentences()[:300]
    assert [list(map(int, to_numpy(hub(t)))) for t in real_text] == expected[len(HARD_CASES):]
    # Google: the vocabulary alone tells the casing; Google's tokenizer gives our ids.
    google_dir = written_tokenizers[casing, "google"]
    loaded = kbr.BertTokenizer.from_preset(str(google_dir))
    assert loaded.lowercase == ours.lowercase
    oracle = FullTokenizer(loaded.vocabulary, ours.lowercase)
    assert [oracle.ids(t) for t in texts] == expected


# === Refusals: one clear error, nothing half-written ===

def test_a_layout_that_cannot_hold_the_model_refuses_before_writing(minilm, vocab, tmp_path):
    target = tmp_path / "out"
    with pytest.raises(presets.UnsupportedCheckpoint, match="tanh approximation.*gelu_approx"):
        minilm.save_to_preset(target, vocabulary=vocab, format="keras_hub")
    with pytest.raises(presets.UnsupportedCheckpoint, match="tanh approximation"):
        minilm.save_to_preset(target, vocabulary=vocab, format="google")
    tagger = kbr.BertTokenClassifier(minilm, num_classes=3)
    for fmt in ("keras_hub", "google"):
        with pytest.raises(presets.UnsupportedCheckpoint, match="no token_classification"):
            tagger.save_to_preset(target, vocabulary=vocab, format=fmt, allow_gelu_change=True)
    features = kbr.BertFeatureClassifier(minilm, num_classes=2)
    with pytest.raises(presets.UnsupportedCheckpoint, match="BertFeatureClassifier"):
        features.save_to_preset(target, vocabulary=vocab, format="hf")
    causal = kbr.BertBackbone(vocabulary_size=30522, num_layers=1, num_heads=2, hidden_dim=16,
                              intermediate_dim=32, causal=True)
    with pytest.raises(presets.UnsupportedCheckpoint, match="left-to-right"):
        causal.save_to_preset(target, vocabulary=vocab, format="hf")
    with pytest.raises(ValueError, match="needs the vocabulary"):
        minilm.save_to_preset(target, format="hf")
    with pytest.raises(ValueError, match="has vocabulary_size=30522"):
        minilm.save_to_preset(target, vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]"],
                              format="hf")
    with pytest.raises(ValueError, match="format must be one of"):
        minilm.save_to_preset(target, vocabulary=vocab, format="onnx")
    regressor = kbr.BertClassifier(minilm, 1)
    with pytest.raises(presets.UnsupportedCheckpoint, match="no regression head"):
        regressor.save_to_preset(target, vocabulary=vocab, format="keras_hub",
                                 allow_gelu_change=True)
    tiny = kbr.BertBackbone(vocabulary_size=5, num_layers=1, num_heads=2, hidden_dim=16,
                            intermediate_dim=32, activation="gelu_approximate")
    no_mask = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "word"]
    with pytest.raises(presets.UnsupportedCheckpoint, match=r"needs a \[MASK\]"):
        tiny.save_to_preset(target, vocabulary=no_mask, format="keras_hub")
    quantized = kbr.BertClassifier(kbr.BertBackbone(
        vocabulary_size=30522, num_layers=1, num_heads=2, hidden_dim=16, intermediate_dim=32), 2)
    quantized.quantize("int8")
    with pytest.raises(presets.UnsupportedCheckpoint, match="quantized"):
        quantized.save_to_preset(target, vocabulary=vocab, format="hf")
    assert os.listdir(tmp_path) == []


def test_a_non_empty_target_is_refused_and_overwrite_replaces_it_whole(minilm, vocab, tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="exists and is not empty.*overwrite=True"):
        minilm.save_to_preset(target, vocabulary=vocab, format="hf")
    assert os.listdir(target) == ["notes.txt"]
    minilm.save_to_preset(target, vocabulary=vocab, format="hf", overwrite=True)
    assert "notes.txt" not in os.listdir(target) and "model.safetensors" in os.listdir(target)
    assert os.listdir(tmp_path) == ["out"]


def test_a_crash_while_writing_leaves_no_checkpoint(minilm, vocab, tmp_path, monkeypatch):
    def crash(directory, checkpoint):
        with h5py.File(os.path.join(directory, "model.weights.h5"), "w") as f:
            f.create_dataset("half", data=np.zeros(3))
        raise OSError("disk full")

    monkeypatch.setitem(presets.WRITERS, "hf", (crash, presets.WRITERS["hf"][1]))
    with pytest.raises(OSError, match="disk full"):
        minilm.save_to_preset(tmp_path / "out", vocabulary=vocab, format="hf")
    assert os.listdir(tmp_path) == []


def test_keras_hub_classifier_with_a_short_position_table_predicts_text(vocab, tmp_path):
    import keras_hub

    keras.utils.set_random_seed(0)
    backbone = kbr.BertBackbone(vocabulary_size=30522, num_layers=1, num_heads=2, hidden_dim=16,
                                intermediate_dim=32, max_sequence_length=32,
                                activation="gelu_approximate")
    kbr.BertClassifier(backbone, 3, dropout=0.2).save_to_preset(
        tmp_path / "kh", vocabulary=vocab, format="keras_hub")
    task = keras_hub.models.BertTextClassifier.from_preset(str(tmp_path / "kh"))
    assert task.preprocessor.sequence_length == 32
    assert json.loads((tmp_path / "kh" / "task.json").read_text())["config"]["dropout"] == 0.2
    assert task.predict(["the cat sat on the mat"], verbose=0).shape == (1, 3)


def test_hf_tokenizer_files_name_only_the_special_tokens_the_vocabulary_has(tmp_path):
    import transformers

    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "cat"]
    backbone = kbr.BertBackbone(vocabulary_size=len(tokens), num_layers=1, num_heads=2,
                                hidden_dim=16, intermediate_dim=32)
    backbone.save_to_preset(tmp_path / "hf", vocabulary=tokens, format="hf")
    special = json.loads((tmp_path / "hf" / "special_tokens_map.json").read_text())
    assert "mask_token" not in special
    tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    assert len(tokenizer) == len(tokens)
    assert tokenizer("the cat")["input_ids"] == [2, 4, 5, 3]


def test_an_existing_directory_is_filled_in_place(minilm, vocab, tmp_path, monkeypatch):
    """A mount point or a symlink's target stays the directory it was; a relative
    path and the current directory work; leftovers of a killed write do not count."""
    real = tmp_path / "volume"
    real.mkdir()
    (real / ".partial-abc123").mkdir()  # what a killed earlier write leaves
    link = tmp_path / "link"
    link.symlink_to(real)
    inode = real.stat().st_ino
    minilm.save_to_preset(link, vocabulary=vocab, format="hf")
    assert link.is_symlink() and real.stat().st_ino == inode
    assert sorted(os.listdir(real)) == sorted(
        ["config.json", "model.safetensors", "special_tokens_map.json", "tokenizer.json",
         "tokenizer_config.json", "vocab.txt"])
    monkeypatch.chdir(real)
    minilm.save_to_preset(".", vocabulary=vocab, format="hf", overwrite=True)
    assert os.getcwd() == str(real) and "model.safetensors" in os.listdir(".")
    minilm.save_to_preset("relative", vocabulary=vocab, format="hf")
    assert (real / "relative" / "config.json").is_file()


def test_a_head_of_another_size_or_task_starts_fresh(minilm, vocab, tmp_path):
    keras.utils.set_random_seed(0)
    kbr.BertClassifier(minilm, 3).save_to_preset(tmp_path / "clf", vocabulary=vocab, format="hf")
    with pytest.warns(UserWarning, match="head with 3 outputs and this model has 2"):
        two = kbr.BertClassifier.from_preset(str(tmp_path / "clf"), num_classes=2)
    assert two.num_classes == 2
    tagger = kbr.BertTokenClassifier.from_preset(str(tmp_path / "clf"), num_classes=3)
    kernel = to_numpy(tagger.get_layer("logits").kernel)
    assert abs(float(kernel.std()) - 0.02) < 0.005  # bert_initializer, not the classifier's
    kbr.BertBackbone.save_to_preset(minilm, tmp_path / "bb", vocabulary=vocab, format="hf")
    with pytest.raises(TypeError, match="needs num_classes.*no sentence-classification head"):
        kbr.BertClassifier.from_preset(str(tmp_path / "bb"))

