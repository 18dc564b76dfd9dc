"""BertPreprocessor: packing, pair truncation as the original, bucketing, tf.data."""

import csv

import numpy as np
import pytest
import tensorflow as tf

import keras_bert_repro as kbr
from keras_bert_repro.text.packing import pack_segments, truncated_lengths
from tests.bert_tokenization_oracle import FullTokenizer, truncate_seq_pair
from tests.conftest import shared_data
from tests.test_tokenizer import cond_ops


@pytest.fixture(scope="module")
def tokenizer(minilm_dir):
    return kbr.BertTokenizer.from_preset(minilm_dir)


def oracle_pack(oracle, a, b, sequence_length, cls=101, sep=102):
    ta, tb = oracle.ids(a), oracle.ids(b) if b is not None else None
    if tb is None:
        ta = ta[:sequence_length - 2]
        ids, seg = [cls] + ta + [sep], [0] * (len(ta) + 2)
    else:
        ta, tb = truncate_seq_pair(ta, tb, sequence_length - 3)
        ids = [cls] + ta + [sep] + tb + [sep]
        seg = [0] * (len(ta) + 2) + [1] * (len(tb) + 1)
    pad = sequence_length - len(ids)
    return ids + [0] * pad, seg + [0] * pad, [1] * len(ids) + [0] * pad


def test_truncation_lengths_equal_the_original_loop():
    pairs = [(a, b, t) for a in range(0, 40) for b in range(0, 40) for t in (1, 2, 7, 8, 20, 33)]
    la, lb, budget = (tf.constant(x) for x in zip(*pairs))
    for t in (1, 2, 7, 8, 20, 33):
        idx = [i for i, p in enumerate(pairs) if p[2] == t]
        got_a, got_b = truncated_lengths(tf.gather(la, idx), tf.gather(lb, idx), t)
        for i, ga, gb in zip(idx, got_a.numpy(), got_b.numpy()):
            a, b, _ = pairs[i]
            ea, eb = truncate_seq_pair(range(a), range(b), t)
            assert (ga, gb) == (len(ea), len(eb)), (a, b, t)


def mrpc_pairs():
    with open(shared_data("glue", "MRPC", "dev.tsv"), encoding="utf-8-sig") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    return [r[3] for r in rows], [r[4] for r in rows]


@pytest.mark.parametrize("sequence_length", [128, 24])
def test_pairs_pack_as_the_original_on_mrpc(tokenizer, sequence_length):
    a, b = mrpc_pairs()
    assert len(a) == 408
    pre = kbr.BertPreprocessor(tokenizer, sequence_length=sequence_length)
    out = {k: np.asarray(v) for k, v in pre((a, b)).items()}
    oracle = FullTokenizer(tokenizer.vocabulary, lowercase=True)
    for i in range(len(a)):
        ids, seg, mask = oracle_pack(oracle, a[i], b[i], sequence_length)
        assert out["token_ids"][i].tolist() == ids, i
        assert out["segment_ids"][i].tolist() == seg, i
        assert out["padding_mask"][i].tolist() == mask, i


def test_pair_truncation_hand_computed(tokenizer):
    """A = 7 tokens, B = 8, room for 9: pop B, B, A, B, A, B -> A keeps 5, B keeps 4."""
    pre = kbr.BertPreprocessor(tokenizer, sequence_length=12)
    a = "a b c d e f g"           # ids 1037..1043
    b = "p q r s t u v w"         # ids 1052..1059
    out = pre((a, b))
    assert np.asarray(out["token_ids"]).tolist() == [
        101, 1037, 1038, 1039, 1040, 1041, 102, 1052, 1053, 1054, 1055, 102]
    assert np.asarray(out["segment_ids"]).tolist() == [0] * 7 + [1] * 5


def test_single_segments_truncate_and_pad(tokenizer):
    pre = kbr.BertPreprocessor(tokenizer, sequence_length=8)
    oracle = FullTokenizer(tokenizer.vocabulary, lowercase=True)
    texts = ["short", "one two three four five six seven eight nine", ""]
    out = {k: np.asarray(v) for k, v in pre(texts).items()}
    for i, text in enumerate(texts):
        ids, seg, mask = oracle_pack(oracle, text, None, 8)
        assert out["token_ids"][i].tolist() == ids
        assert out["segment_ids"][i].tolist() == seg
        assert out["padding_mask"][i].tolist() == mask
    assert out["token_ids"][2].tolist()[:3] == [101, 102, 0]  # empty text: [CLS] [SEP]


def test_scalar_input_gives_unbatched_output(tokenizer):
    pre = kbr.BertPreprocessor(tokenizer, sequence_length=6)
    out = pre("hello world")
    assert np.asarray(out["token_ids"]).tolist() == [101, 7592, 2088, 102, 0, 0]
    pair = pre(("hello", "world"))
    assert np.asarray(pair["segment_ids"]).tolist() == [0, 0, 0, 1, 1, 0]


def test_bucketed_padding_pads_to_the_longest_row_rounded_up(tokenizer):
    pre = kbr.BertPreprocessor(tokenizer, sequence_length=40, pad_to_multiple_of=16)
    assert np.asarray(pre(["a b c"])["token_ids"]).shape == (1, 16)
    assert np.asarray(pre(["a " * 20])["token_ids"]).shape == (1, 32)
    assert np.asarray(pre(["a " * 60])["token_ids"]).shape == (1, 40)  # capped
    full = kbr.BertPreprocessor(tokenizer, sequence_length=40)
    texts = ["a b c", "d e f g h"]
    short, long = pre(texts), full(texts)
    n = np.asarray(short["token_ids"]).shape[1]
    for key in short:
        np.testing.assert_array_equal(np.asarray(short[key]), np.asarray(long[key])[:, :n])


def test_tokenizer_works_inside_tf_data(tokenizer):
    oracle = FullTokenizer(tokenizer.vocabulary, lowercase=True)
    texts, _ = mrpc_pairs()
    ds = tf.data.Dataset.from_tensor_slices(texts[:64]).batch(16).map(tokenizer)
    got = [row for batch in ds for row in batch.to_list()]
    assert got == [oracle.ids(t) for t in texts[:64]]


def test_runs_in_tf_data_with_pairs(tokenizer):
    a, b = mrpc_pairs()
    pre = kbr.BertPreprocessor(tokenizer, sequence_length=64)
    eager = {k: np.asarray(v) for k, v in pre((a[:32], b[:32])).items()}
    ds = tf.data.Dataset.from_tensor_slices((a[:32], b[:32])).batch(8).map(
        lambda x, y: pre((x, y)))
    batches = list(ds)
    for key in eager:
        np.testing.assert_array_equal(np.concatenate([bt[key].numpy() for bt in batches]),
                                      eager[key])


def test_output_feeds_the_backbone(tokenizer, minilm_dir):
    backbone = kbr.BertBackbone.from_preset(minilm_dir)
    pre = kbr.BertPreprocessor(tokenizer, sequence_length=32)
    out = backbone(pre((["the cat sat"], ["on the mat"])))
    assert tuple(out["pooled_output"].shape) == (1, 384)


def test_config_round_trip_and_errors(tokenizer):
    pre = kbr.BertPreprocessor(tokenizer, sequence_length=16, pad_to_multiple_of=8)
    clone = kbr.BertPreprocessor.from_config(pre.get_config())
    assert (clone.sequence_length, clone.pad_to_multiple_of) == (16, 8)
    np.testing.assert_array_equal(np.asarray(clone(["x y"])["token_ids"]),
                                  np.asarray(pre(["x y"])["token_ids"]))
    with pytest.raises(ValueError, match="leaves no room"):
        kbr.BertPreprocessor(tokenizer, sequence_length=3)(("a", "b"))
    with pytest.raises(TypeError, match="must be strings"):
        pre(tf.constant([1, 2]))


@pytest.mark.backend_independent
def test_preprocessor_traces_no_validating_conds(tokenizer):
    """Packing builds no ragged tensor (ragged boolean_mask/concat validate theirs
    with conds, slow inside tf.data), so the whole layer traces none."""
    text = tf.TensorSpec([None], tf.string)
    for pad_to in (None, 8):
        pre = kbr.BertPreprocessor(tokenizer, sequence_length=64, pad_to_multiple_of=pad_to)
        assert cond_ops(pre.call, text) == []
        assert cond_ops(lambda a, b: pre.call((a, b)), text, text) == []


@pytest.mark.backend_independent
@pytest.mark.parametrize("segments", [1, 2])
def test_empty_batch_packs_to_the_narrowest_width(segments):
    """No rows: `[0, sequence_length]`, or with `pad_to` `[0, min(pad_to, sequence_length)]`
    (the longest of no rows is taken as 1 token), never a crash."""
    empty = tf.ragged.constant([], tf.int32, ragged_rank=1)
    for pad_to, width in ((None, 16), (8, 8), (64, 16)):
        out = pack_segments([empty] * segments, 16, 101, 102, pad_to=pad_to)
        assert sorted(out) == ["padding_mask", "segment_ids", "token_ids"]
        for value in out.values():
            assert value.shape == (0, width) and value.dtype == tf.int32


@pytest.mark.backend_independent
def test_empty_batch_in_the_preprocessor_and_tf_data(tokenizer):
    pre = kbr.BertPreprocessor(tokenizer, sequence_length=40, pad_to_multiple_of=16)
    assert np.asarray(pre(tf.constant([], tf.string))["token_ids"]).shape == (0, 16)
    texts = tf.constant([], tf.string)
    ds = tf.data.Dataset.from_tensors((texts, texts)).map(lambda a, b: pre((a, b)))
    assert [tuple(x["segment_ids"].shape) for x in ds] == [(0, 16)]


@pytest.mark.backend_independent
def test_packing_pads_with_pad_id_and_keeps_int64_tokens():
    a = tf.ragged.constant([[7, 8, 9, 10], [5], []], tf.int64)
    b = tf.ragged.constant([[20], [21, 22, 23, 24], []], tf.int64)
    single = pack_segments([a], 5, cls_id=1, sep_id=2, pad_id=-1)
    assert single["token_ids"].numpy().tolist() == [
        [1, 7, 8, 9, 2], [1, 5, 2, -1, -1], [1, 2, -1, -1, -1]]
    assert single["padding_mask"].numpy().tolist() == [
        [1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 0, 0, 0]]
    pair = pack_segments([a, b], 7, cls_id=1, sep_id=2, pad_id=-1)  # room for 4 tokens
    assert pair["token_ids"].numpy().tolist() == [
        [1, 7, 8, 9, 2, 20, 2], [1, 5, 2, 21, 22, 23, 2], [1, 2, 2, -1, -1, -1, -1]]
    assert pair["segment_ids"].numpy().tolist() == [
        [0, 0, 0, 0, 0, 1, 1], [0, 0, 0, 1, 1, 1, 1], [0, 0, 1, 0, 0, 0, 0]]
