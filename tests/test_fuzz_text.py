"""The text path over arbitrary Unicode (issue 25), property-based with hypothesis:
control and format characters, combining marks, right-to-left text, emoji, NUL,
invalid UTF-8 bytes, literal [CLS]/[SEP]/[MASK], 100,000-character strings. No crash;
ids inside the vocabulary; [CLS]/[SEP]/padding where they belong; every offset inside
its text; the same ids eagerly, in tf.data and from a SavedModel.

`make test` runs the "ci" profile of tests/fuzz.py (a fixed seed, 15 examples a
property; the tokenizer's in each backend's pass, the TF-only preprocessors' in one);
`HYPOTHESIS_PROFILE=campaign pytest tests/test_fuzz_text.py` runs the long one
(`FUZZ_EXAMPLES` per property, default 2,000; benchmarks/RESULTS.md, "Reliability",
has the count of its last run). The served signatures' properties are in
test_export.py and test_export_tasks.py.
"""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import example, given
from hypothesis import strategies as st

import keras_bert_repro as kbr
from keras_bert_repro.text import OffsetTokenizer
from tests.fuzz import HARD, LONG, TEXT

# The preprocessors are TF graphs whatever the backend: their properties run in one pass
# of make test; the tokenizer's (eager outputs converted per backend) in every pass.
PURE_TF = pytest.mark.backend_independent
INVALID_UTF8 = [b"\xff\xfe", b"caf\xe9", b"\xc3", b"ok \xed\xa0\x80 surrogate", b"\x80abc"]


@pytest.fixture(scope="module")
def tokenizer(minilm_dir):
    return kbr.BertTokenizer.from_preset(minilm_dir)


@pytest.fixture(scope="module")
def preprocessor(tokenizer):
    return kbr.BertPreprocessor(tokenizer, sequence_length=32)


def _np(x):
    return x.numpy() if isinstance(x, tf.Tensor) else np.asarray(x)


def _rows(ragged):
    return ragged.to_list() if hasattr(ragged, "to_list") else [list(r) for r in ragged]


@given(texts=st.lists(TEXT, min_size=1, max_size=4))
@example(texts=[LONG, ""])
@example(texts=HARD)
def test_tokenizer_ids_stay_in_the_vocabulary_eagerly_and_in_tf_data(tokenizer, texts):
    eager = _rows(tokenizer(texts))
    size = tokenizer.vocabulary_size()
    assert all(0 <= i < size for row in eager for i in row)
    dataset = tf.data.Dataset.from_tensor_slices(tf.constant(texts)).batch(len(texts))
    in_tf_data = _rows(next(iter(dataset.map(tokenizer))))
    assert in_tf_data == eager


@PURE_TF
@given(texts=st.lists(TEXT, min_size=1, max_size=3))
@example(texts=[LONG])
def test_offsets_map_back_into_the_text(tokenizer, texts):
    ids, starts, ends = OffsetTokenizer(tokenizer)(texts)
    assert ids.to_list() == _rows(tokenizer(texts))  # the same ids as the tokenizer
    for text, row_starts, row_ends in zip(texts, starts.to_list(), ends.to_list(), strict=True):
        for start, end in zip(row_starts, row_ends):
            assert 0 <= start <= end <= len(text)


def _check_packed(out, tokenizer, length, pairs):
    ids, segments, mask = (_np(out[k]) for k in ("token_ids", "segment_ids", "padding_mask"))
    assert ids.shape == segments.shape == mask.shape and ids.shape[1] == length
    for row_ids, row_segments, row_mask in zip(ids, segments, mask, strict=True):
        real = int(row_mask.sum())
        assert row_mask.tolist() == [1] * real + [0] * (length - real)  # a prefix of ones
        assert row_ids[0] == tokenizer.cls_token_id and row_ids[real - 1] == tokenizer.sep_token_id
        assert (row_ids[real:] == tokenizer.pad_token_id).all()
        seps = np.flatnonzero(row_ids[:real] == tokenizer.sep_token_id)
        # Literal "[SEP]" in text is text (split into pieces), so the packer's SEPs are
        # the only ones: one per segment.
        assert len(seps) == (2 if pairs else 1)
        expected = np.zeros(length, int)
        if pairs:
            expected[seps[0] + 1:real] = 1
        assert (row_segments == expected).all()


@PURE_TF
@given(first=st.lists(TEXT, min_size=2, max_size=2), second=st.lists(TEXT, min_size=2,
                                                                     max_size=2))
@example(first=[LONG, "\x00"], second=["", LONG])
def test_packing_holds_its_shape_and_special_tokens(tokenizer, preprocessor, first, second):
    _check_packed(preprocessor(first), tokenizer, 32, pairs=False)
    _check_packed(preprocessor((first, second)), tokenizer, 32, pairs=True)
    dataset = tf.data.Dataset.from_tensor_slices((first, second)).batch(2).map(
        lambda a, b: preprocessor((a, b)))
    in_tf_data = next(iter(dataset))
    for key, value in preprocessor((first, second)).items():
        np.testing.assert_array_equal(_np(in_tf_data[key]), _np(value))


@PURE_TF
@given(words=st.lists(st.lists(TEXT, min_size=1, max_size=6), min_size=1, max_size=3))
def test_word_preprocessor_maps_every_word_inside_the_sequence(tokenizer, words):
    preprocessor = kbr.BertWordPreprocessor(tokenizer, sequence_length=24)
    labels = [[1] * len(sentence) for sentence in words]
    x, y, weights = preprocessor(words, labels)
    starts = preprocessor.word_starts(words).to_list()
    for row_starts, sentence in zip(starts, words, strict=True):
        assert len(row_starts) == len(sentence)
        assert all(s == -1 or 1 <= s < 23 for s in row_starts)  # inside [CLS] ... [SEP]
    kept = sum(s >= 0 for row in starts for s in row)
    assert _np(weights).sum() == kept  # one weighted piece per word kept


@PURE_TF
@given(question=TEXT, context=TEXT)
@example(question="[CLS] [SEP]", context=LONG)
def test_squad_windows_cover_the_context_and_offsets_stay_inside(tokenizer, question, context):
    preprocessor = kbr.BertSquadPreprocessor(tokenizer, sequence_length=48, doc_stride=16,
                                             max_query_length=12)
    features = preprocessor(([question], [context]))
    assert features.token_ids.shape[1] == 48 and (features.example_index == 0).all()
    inside = features.token_char_starts >= 0
    assert (features.token_char_ends[inside] <= len(context)).all()
    assert (features.token_char_starts[inside] <= features.token_char_ends[inside]).all()
    assert (features.token_ids[:, 0] == tokenizer.cls_token_id).all()


@PURE_TF
@given(context=TEXT, endings=st.lists(TEXT, min_size=3, max_size=3))
def test_multiple_choice_packs_each_ending(tokenizer, context, endings):
    preprocessor = kbr.BertMultipleChoicePreprocessor(tokenizer, sequence_length=24)
    out = preprocessor((np.array([context]), np.array([endings])))
    flat = {k: _np(v).reshape(3, -1) for k, v in out.items()}
    _check_packed(flat, tokenizer, flat["token_ids"].shape[1], pairs=True)


@PURE_TF
def test_invalid_utf8_bytes_are_dropped_not_fatal(tokenizer, preprocessor):
    """Bytes that are no UTF-8 (a latin-1 file, a cut multi-byte character) are left
    out, as Google's `convert_to_unicode` (`decode("utf-8", "ignore")`) does, rather
    than stop a tf.data pipeline."""
    ids = _rows(tokenizer(tf.constant(INVALID_UTF8)))
    decoded = [raw.decode("utf-8", "ignore") for raw in INVALID_UTF8]
    assert ids == _rows(tokenizer(decoded))
    assert ids[1] == _rows(tokenizer(["caf"]))[0] and ids[0] == []
    _check_packed(preprocessor(tf.constant(INVALID_UTF8)), tokenizer, 32, pairs=False)


@PURE_TF
def test_a_saved_model_gives_the_same_ids(tokenizer, preprocessor, tmp_path):
    """The preprocessor traced into a SavedModel (as the serving exports hold it)."""
    module = tf.Module()
    module.pack = tf.function(lambda a, b: preprocessor((a, b)), input_signature=[
        tf.TensorSpec([None], tf.string), tf.TensorSpec([None], tf.string)])
    tf.saved_model.save(module, str(tmp_path / "pack"))
    loaded = tf.saved_model.load(str(tmp_path / "pack"))
    first = [LONG[:5000], *HARD[:10], "caf\xe9 \U0001f916"]
    second = list(reversed(first))
    served = loaded.pack(tf.constant(first), tf.constant(second))
    for key, value in preprocessor((first, second)).items():
        np.testing.assert_array_equal(_np(served[key]), _np(value))
