"""BertTokenizer against the original algorithm, on real text and hard cases."""

import csv
import itertools

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text as tf_text

import keras_bert_repro as kbr
from keras_bert_repro.text.offsets import OffsetTokenizer
from tests.bert_tokenization_oracle import FullTokenizer
from tests.conftest import shared_data
from tests.tokenizer_hard_cases import HARD_CASES

# Pure TF Text: the same on every Keras backend, so `make test` runs it once.
pytestmark = pytest.mark.backend_independent



def sst2_sentences(split="dev"):
    with open(shared_data("glue", "SST-2", f"{split}.tsv"), encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r[0] for r in rows[1:]]


def conll_sentences(split="test"):
    sentences, words = [], []
    with open(shared_data("conll2003", f"{split}.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("-DOCSTART-"):
                if words:
                    sentences.append(" ".join(words))
                    words = []
            else:
                words.append(line.split()[0])
    return sentences


def wikipedia_lines(limit):
    lines = []
    with open(shared_data("wikipedia-sample", "enwiki-AB-wiki_50.txt"), encoding="utf-8") as f:
        for line in f:
            if line.strip() and not line.startswith(("<doc", "</doc")):
                lines.append(line.rstrip("\n"))
    return lines[:limit]


@pytest.fixture(scope="module")
def uncased(minilm_dir):
    tok = kbr.BertTokenizer.from_preset(minilm_dir)
    return tok, FullTokenizer(tok.vocabulary, lowercase=True)


@pytest.fixture(scope="module")
def cased():
    path = shared_data("vocab", "bert-base-cased-vocab.txt")
    tok = kbr.BertTokenizer(str(path), lowercase=False)
    return tok, FullTokenizer(tok.vocabulary, lowercase=False)


def assert_same_ids(tok, oracle, texts, batch=256):
    for start in range(0, len(texts), batch):
        chunk = texts[start:start + batch]
        ours = tok(chunk).to_list()
        for text, got in zip(chunk, ours):
            expected = oracle.ids(text)
            assert got == expected, (
                f"{text!r}\nours  {[tok.id_to_token(i) for i in got]}\n"
                f"orig  {[tok.id_to_token(i) for i in expected]}")


def test_uncased_matches_original_on_hard_cases(uncased):
    assert len(HARD_CASES) >= 100
    assert_same_ids(*uncased, HARD_CASES)


def test_cased_matches_original_on_hard_cases(cased):
    assert not cased[0].lowercase
    assert_same_ids(*cased, HARD_CASES)


def test_strings_of_rank_two_are_refused_with_the_shapes_it_takes(uncased):
    tokenizer = uncased[0]
    with pytest.raises(ValueError, match=r"a string or a \[batch\] of strings"):
        tokenizer(tf.constant([["a", "b"]]))
    with pytest.raises(ValueError, match=r"a string or a \[batch\] of strings"):
        tokenizer(tf.ragged.constant([["a"], ["b", "c"]]))


def test_every_unicode_character_alone_and_in_words(uncased, cased):
    """Each code point of the BMP and the CJK planes, between letters."""
    chars = [chr(c) for c in itertools.chain(range(1, 0xD800), range(0xE000, 0x10000),
                                              range(0x20000, 0x20100))]
    texts = ["a" + "".join(chars[i:i + 8]) + "b " + "".join(chars[i:i + 8])
             for i in range(0, len(chars), 8)]
    for tok, oracle in (uncased, cased):
        assert_same_ids(tok, oracle, texts, batch=1024)


def test_sst2_dev_and_train_sample_match(uncased, cased):
    texts = sst2_sentences("dev") + sst2_sentences("train")[:3000]
    assert len(texts) == 3872
    assert_same_ids(*uncased, texts)
    assert_same_ids(*cased, texts[:872])


def test_conll_test_sentences_match(uncased, cased):
    texts = conll_sentences("test")
    assert len(texts) == 3453
    assert_same_ids(*uncased, texts)
    assert_same_ids(*cased, texts)


def test_pretraining_corpus_matches(uncased, cased):
    texts = wikipedia_lines(1500)
    assert len(texts) == 1500
    assert_same_ids(*uncased, texts)
    assert_same_ids(*cased, texts)


def test_hf_tokenizer_agrees_where_it_follows_the_original(uncased, minilm_dir):
    """HF is a second oracle on ordinary text (it maps literal [CLS] to the special token)."""
    import transformers

    hf = transformers.BertTokenizer(f"{minilm_dir}/vocab.txt", do_lower_case=True)
    tok, _ = uncased
    texts = sst2_sentences("dev")
    ours = tok(texts).to_list()
    for text, got in zip(texts, ours):
        assert got == hf.encode(text, add_special_tokens=False), text


def test_literal_special_tokens_are_plain_text(uncased):
    tok, _ = uncased
    ids = np.asarray(tok("[CLS] x [SEP]")).tolist()
    assert tok.cls_token_id not in ids and tok.sep_token_id not in ids
    assert [tok.id_to_token(i) for i in ids][:3] == ["[", "cl", "##s"]


def test_long_words_become_one_unk(uncased):
    tok, _ = uncased
    assert tok(["a" * 201]).to_list() == [[tok.unk_token_id]]
    assert tok.unk_token_id not in tok(["a" * 200]).to_list()[0]


def test_scalar_input_and_lookups(uncased):
    tok, oracle = uncased
    assert np.asarray(tok("Hello there")).tolist() == oracle.ids("Hello there")
    assert tok.token_to_id("[MASK]") == 103 and tok.id_to_token(101) == "[CLS]"
    with pytest.raises(KeyError, match="'zzzz-not-a-token' is not in the vocabulary"):
        tok.token_to_id("zzzz-not-a-token")
    with pytest.raises(ValueError, match="outside"):
        tok.id_to_token(10**6)


def test_detokenize_joins_word_pieces(uncased):
    tok, _ = uncased
    text = tok.detokenize(tok(["Unbelievably, tokenization works."]))
    assert text.numpy()[0].decode() == "unbelievably , tokenization works ."


def test_keras_hub_tokenizer_names(uncased):
    """tokenize, get_vocabulary, vocabulary_size() and detokenize to Python text, as
    keras-hub's tokenizers have them (vocabulary_size also reads as an int)."""
    tok, _ = uncased
    assert tok.vocabulary_size() == tok.vocabulary_size == len(tok.get_vocabulary()) == 30522
    assert tok.get_vocabulary()[tok.token_to_id("[CLS]")] == "[CLS]"
    ids = tok.tokenize(["Unbelievably, tokenization works."])
    assert ids.to_list() == tok(["Unbelievably, tokenization works."]).to_list()
    assert tok.detokenize(ids.to_list()[0]) == "unbelievably , tokenization works ."
    assert tok.detokenize(np.array(ids.to_list()[0])) == "unbelievably , tokenization works ."
    assert tok.detokenize(ids.to_list() * 2) == ["unbelievably , tokenization works ."] * 2


def test_vocabulary_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        kbr.BertTokenizer(str(tmp_path / "missing.txt"))
    with pytest.raises(ValueError, match="lacks the special token"):
        kbr.BertTokenizer(["a", "b"])


def test_get_config_round_trip(uncased):
    tok, _ = uncased
    clone = kbr.BertTokenizer.from_config(tok.get_config())
    assert np.asarray(clone("Hello world")).tolist() == np.asarray(tok("Hello world")).tolist()


def test_casing_is_read_from_the_preset(minilm_dir):
    assert kbr.BertTokenizer.from_preset(minilm_dir).lowercase is True
    cased_vocab = str(shared_data("vocab", "bert-base-cased-vocab.txt"))
    assert kbr.BertTokenizer(cased_vocab).lowercase is False
    assert np.asarray(kbr.BertTokenizer(cased_vocab)("Hello")).tolist() != \
        np.asarray(kbr.BertTokenizer(cased_vocab)("hello")).tolist()


def test_bad_input_has_defined_behaviour(uncased):
    tok, oracle = uncased
    # Invalid UTF-8 is dropped, as the original's decode(errors="ignore").
    raw = [b"ab\xff\xfecd ok", b"\xc3", b"caf\xc3\xa9", b"", b"  \t "]
    got = tok(raw).to_list()
    assert got == [oracle.ids(r.decode("utf-8", "ignore")) for r in raw]
    assert got[1] == got[3] == got[4] == []
    # A 1 MB text tokenizes whole, as the original does.
    text = " ".join(wikipedia_lines(400))[: 1 << 20]
    text = (text * (1 + (1 << 20) // max(len(text), 1)))[: 1 << 20]
    assert np.asarray(tok(text)).tolist() == oracle.ids(text)
    with pytest.raises(TypeError, match="must be strings"):
        tok(tf.constant([1.0]))


def test_bad_input_inside_a_graph(uncased):
    """Inside tf.function (as in tf.data or a SavedModel) nothing crashes either."""
    tok, oracle = uncased
    raw = [b"ab\xff\xfecd", b"", b" \t\n ", b"nul\x00byte", "x" * 300]
    got = tf.function(lambda t: tok.call(t))(tf.constant(raw)).to_list()
    assert got == [oracle.ids(r.decode("utf-8", "ignore") if isinstance(r, bytes) else r)
                   for r in raw]


def test_vocabulary_from_every_preset_layout(minilm_dir, tmp_path):
    """Google (vocab.txt, casing from the vocabulary), keras-hub (assets/), ours."""
    import shutil

    import keras_hub

    reference = kbr.BertTokenizer.from_preset(minilm_dir)
    google = tmp_path / "google"
    google.mkdir()
    shutil.copy(shared_data("vocab", "bert-base-cased-vocab.txt"), google / "vocab.txt")
    (google / "bert_config.json").write_text("{}")
    assert kbr.BertTokenizer.from_preset(str(google)).lowercase is False
    hub = keras_hub.models.BertTokenizer(vocabulary=f"{minilm_dir}/vocab.txt", lowercase=True)
    hub.save_to_preset(str(tmp_path / "hub"))
    from_hub = kbr.BertTokenizer.from_preset(str(tmp_path / "hub"))
    assert from_hub.vocabulary == reference.vocabulary and from_hub.lowercase


def cond_ops(fn, *specs):
    """The conds and asserts in `fn`'s traced graph. RaggedTensor validation adds
    an assert in a cond per check, and inside `tf.data.map` each costs ~0.3-0.9 ms
    a call (against ~30 us in a `tf.function`): it halved the tokenizer's speed there."""
    graph = tf.function(fn).get_concrete_function(*specs).graph
    return [op.type for op in graph.get_operations()
            if op.type in ("If", "StatelessIf", "Assert")]


def test_tokenizers_trace_no_validating_conds(uncased, cased):
    text = tf.TensorSpec([None], tf.string)
    assert cond_ops(lambda t: tf_text.regex_split(t, " "), text)  # what validation looks like
    for tok, _ in (uncased, cased):
        assert cond_ops(tok.call, text) == []
        assert cond_ops(OffsetTokenizer(tok), text) == []


def test_offsets_of_every_character(uncased, cased):
    """OffsetTokenizer builds its ragged results unvalidated, trusting that
    lower-casing gives each character one character (two for İ): on every code
    point, alone and in runs of 40, ids are the tokenizer's and each token spans
    characters of its text in order (alone: that one character)."""
    chars = [chr(c) for c in range(1, 0x110000) if not 0xD800 <= c < 0xE000]
    runs = ["x" + "".join(chars[i:i + 40]) + " Σ" for i in range(0, len(chars), 40)]
    for tok, _ in (uncased, cased):
        for texts in (chars, runs):
            ids, starts, ends = OffsetTokenizer(tok)(texts)
            expected = tok(texts)
            np.testing.assert_array_equal(ids.row_splits, expected.row_splits)
            np.testing.assert_array_equal(ids.flat_values, expected.flat_values)
            if texts is chars:
                assert len(ids.flat_values) > 100_000
                assert (starts.flat_values.numpy() == 0).all()
                assert (ends.flat_values.numpy() == 1).all()
            else:
                for text, s, e in zip(texts, starts.numpy(), ends.numpy()):
                    assert (0 <= s).all() and (s < e).all() and (e <= len(text)).all(), text
                    assert (np.diff(s) >= 0).all(), text


def test_splits_match_tf_text_regex_split():
    """basic_tokenizer splits with core TF string ops (TF Text's unvalidated op is
    private); TF Text's public regex_split, validated, is the reference: words and
    byte starts on every code point, alone and in runs, the hard cases and real
    text, and the tokenizer's cut around non-ASCII tokens."""
    from keras_bert_repro.text import basic_tokenizer as bt

    chars = [chr(c) for c in range(1, 0x110000) if not 0xD800 <= c < 0xE000]
    texts = (chars + ["a" + "".join(chars[i:i + 8]) + "b " + "".join(chars[i:i + 8])
                      for i in range(0, len(chars), 8)]
             + HARD_CASES + wikipedia_lines(1500) + sst2_sentences("dev")
             + ["", " ", "\t\n", "x", ",", " ,, x ", "\u3000a\u2028b\u00a0 c\u205f", "é",
                " é ", "a\x01b é", "x\x00y é", "é" + " " * 5 + "é"])
    raw = tf.constant([t.encode("utf-8") for t in texts] + [b"ab\xff\xfecd \xc3 caf\xc3\xa9"])
    for lowercase in (True, False):
        text = bt.normalize(raw, lowercase)
        want, want_starts, _ = tf_text.regex_split_with_offsets(
            text, f"{bt.WHITESPACE}+|{bt.KEEP}", bt.KEEP)
        words, starts = bt.split_normalized_with_starts(text)
        for got in (bt.split_normalized(text), words):
            np.testing.assert_array_equal(got.row_splits, want.row_splits)
            np.testing.assert_array_equal(got.flat_values, want.flat_values)
        np.testing.assert_array_equal(starts, want_starts.flat_values)
    assert bt.split_normalized(tf.constant("a, b")).to_list() == [[b"a", b",", b"b"]]

    text = tf.strings.regex_replace(raw, r"\x00", "")
    want = tf_text.regex_split(text, bt.NON_ASCII_TOKEN, bt.NON_ASCII_TOKEN)
    got = bt.split_around(text, bt.NON_ASCII_TOKEN)
    assert [[p for p in row if p] for row in got.to_list()] == want.to_list()


def test_whitespace_classes_partition_whitespace():
    """The patterns that turn whitespace into spaces cover WHITESPACE exactly, each
    character becoming as many spaces as it has UTF-8 bytes."""
    from keras_bert_repro.text import basic_tokenizer as bt

    chars = [chr(c) for c in range(1, 0x110000) if not 0xD800 <= c < 0xE000]
    text = tf.constant([c.encode("utf-8") for c in chars])
    is_space = tf.strings.regex_full_match(text, bt.WHITESPACE).numpy()
    assert is_space.sum() == 22
    other = tf.strings.regex_full_match(text, bt._OTHER_SPACE).numpy()
    np.testing.assert_array_equal(other, is_space & [c not in "\t\n\r " for c in chars])
    spaced = text
    for pattern, spaces in bt._SPACES_OF_SAME_LENGTH:
        spaced = tf.strings.regex_replace(spaced, pattern, spaces)
    expected = [b" " * len(c.encode("utf-8")) if s else c.encode("utf-8")
                for c, s in zip(chars, is_space)]
    assert spaced.numpy().tolist() == expected


def test_splitting_traces_no_validating_conds():
    from keras_bert_repro.text import basic_tokenizer as bt

    text = tf.TensorSpec([None], tf.string)
    assert cond_ops(lambda t: bt.split_words(t, True), text) == []
    assert cond_ops(bt.split_normalized_with_starts, text) == []
    assert cond_ops(lambda t: bt.split_around(t, bt.NON_ASCII_TOKEN), text) == []


def private_op_imports(source):
    """Imports of TF Text's private modules (`tensorflow_text.python...`), of any
    generated op wrapper (`gen_*`), and loads of op libraries, in Python source."""
    import ast
    import re

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        if any(n.startswith("tensorflow_text.python") or re.search(r"(^|\.)gen_\w+", n)
               for n in names):
            found.append(node.lineno)
    return sorted(set(found) | {i + 1 for i, line in enumerate(source.splitlines())
                                if "load_op_library" in line or "tensorflow_text.python" in line})


def test_no_private_tensorflow_text_api():
    """Only public TF / TF Text names: TF Text's python/ modules, their gen_* op
    wrappers and .so files may move in any release."""
    import pathlib

    assert private_op_imports(
        "from tensorflow_text.python.ops.regex_split_ops import gen_regex_split_ops")
    assert private_op_imports("from tensorflow.python.ops import gen_string_ops")
    assert private_op_imports("import tensorflow_text.python.ops")
    assert private_op_imports("x = tf.load_op_library(path)")
    assert not private_op_imports("import tensorflow_text as tf_text\nimport generators")
    root = pathlib.Path(kbr.__file__).parent
    offenders = {str(p.relative_to(root.parent)): lines for p in sorted(root.rglob("*.py"))
                 if (lines := private_op_imports(p.read_text(encoding="utf-8")))}
    assert offenders == {}


def test_tokenizer_and_preprocessor_save_to_preset_round_trip(tmp_path):
    """keras-hub's save_to_preset on the text side: vocabulary and casing come back."""
    cased = kbr.BertTokenizer(str(shared_data("vocab", "bert-base-cased-vocab.txt")),
                              lowercase=False)
    cased.save_to_preset(str(tmp_path / "tok"))
    back = kbr.BertTokenizer.from_preset(str(tmp_path / "tok"))
    assert back.lowercase is False and back.get_vocabulary() == cased.get_vocabulary()
    text = ["Hello World, ÉTÉ."]
    assert back(text).to_list() == cased(text).to_list()
    pre = kbr.BertPreprocessor(cased, sequence_length=16)
    pre.save_to_preset(str(tmp_path / "pre"))
    again = kbr.BertPreprocessor.from_preset(str(tmp_path / "pre"), sequence_length=16)
    for key, value in pre(text).items():
        np.testing.assert_array_equal(np.asarray(again(text)[key]), np.asarray(value))
