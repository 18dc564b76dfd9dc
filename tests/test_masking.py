"""Dynamic MLM masking and BertPretrainingPreprocessor: the original's statistics on
thousands of real sequences, the pre-training batch contract, tf.data."""

import csv

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_bert_repro as kbr
from keras_bert_repro.text.masking import (
    MaskedLMMasker, _fill_greedily, is_reserved, num_to_predict)
from keras_bert_repro.text.packing import pack_segments, truncated_lengths
from keras_bert_repro.text.pretraining_preprocessor import BertPretrainingPreprocessor
from tests.conftest import shared_data

backend_independent = pytest.mark.backend_independent
LENGTH = 128


def wikipedia_pairs(limit):
    """Consecutive paragraphs of the same article."""
    pairs, previous = [], None
    with open(shared_data("wikipedia-sample", "enwiki-AA-wiki_00.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith(("<doc", "</doc")) or not line:
                previous = None
                continue
            if previous is not None:
                pairs.append((previous, line))
            previous = line
    return pairs[:limit]


def sst2_pairs(limit):
    with open(shared_data("glue", "SST-2", "train.tsv"), encoding="utf-8") as f:
        lines = [r[0] for r in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)][1:]
    return list(zip(lines[0:2 * limit:2], lines[1:2 * limit:2]))


@pytest.fixture(scope="module")
def tokenizer():
    return kbr.BertTokenizer(str(shared_data("vocab", "bert-base-uncased-vocab.txt")))


@pytest.fixture(scope="module")
def texts():
    """2,000 Wikipedia paragraph pairs (mostly full) and 2,000 short SST-2 pairs."""
    pairs = wikipedia_pairs(2000) + sst2_pairs(2000)
    assert len(pairs) == 4000
    return [p[0] for p in pairs], [p[1] for p in pairs]


@pytest.fixture(scope="module")
def packed(tokenizer, texts):
    """The 4,000 pairs tokenized and packed: numpy [4000, 128] ids and padding mask."""
    ids = [tokenizer(t) for t in texts]
    out = pack_segments(ids, LENGTH, tokenizer.cls_token_id, tokenizer.sep_token_id)
    return np.asarray(out["token_ids"]), np.asarray(out["padding_mask"])


def mask(tokenizer, packed, seed=(1, 2), **kwargs):
    masker = MaskedLMMasker(tokenizer.vocabulary, **kwargs)
    out = masker(tf.constant(packed[0]), tf.constant(packed[1]), tf.constant(seed))
    return {k: np.asarray(v) for k, v in out.items()}


def chosen_matrix(out, shape):
    chosen = np.zeros(shape, bool)
    rows, slots = np.nonzero(out["mask_weights"])
    chosen[rows, out["mask_positions"][rows, slots]] = True
    return chosen


def budgets(lengths, rate, cap):
    """create_masked_lm_predictions' num_to_predict per row."""
    return np.array([min(cap, max(1, int(round(n * rate)))) for n in lengths])


def expected_counts(packed, rate, cap, special):
    """The original's count per row, also bounded by the tokens that can be chosen."""
    ids, real = packed
    lengths = real.sum(1)
    candidates = (real.astype(bool) & ~np.isin(ids, special)).sum(1)
    return np.minimum(budgets(lengths, rate, cap), candidates), lengths


def special_ids(tokenizer):
    return [tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id]


@backend_independent
def test_num_to_predict_is_the_originals_formula():
    lengths = np.arange(0, 513)
    for rate in (0.15, 0.2, 0.3):
        for cap in (5, 20, 76):
            got = num_to_predict(tf.constant(lengths), rate, cap).numpy()
            assert got.tolist() == budgets(lengths, rate, cap).tolist(), (rate, cap)


@backend_independent
@pytest.mark.parametrize("rate,cap", [(0.15, 20), (0.15, 10), (0.30, 40), (0.30, 20)])
def test_selection_count_rate_cap_and_specials(tokenizer, packed, rate, cap):
    out = mask(tokenizer, packed, selection_rate=rate, max_predictions_per_seq=cap)
    ids, real = packed
    counts = out["mask_weights"].sum(1).astype(int)
    want, lengths = expected_counts(packed, rate, cap, special_ids(tokenizer))
    # Exact per row: round(len * rate), at least 1, capped, as the original.
    np.testing.assert_array_equal(counts, want)
    observed_rate = counts.sum() / lengths.sum()
    assert abs(observed_rate - want.sum() / lengths.sum()) < 0.01 * rate
    if cap >= LENGTH * rate:  # no cap in play: the rate is the nominal one
        assert abs(observed_rate - rate) < 0.01 * rate + 0.5 / lengths.mean()
    chosen = chosen_matrix(out, ids.shape)
    assert chosen.sum() == counts.sum()  # no position twice
    assert not np.isin(ids[chosen], special_ids(tokenizer)).any()
    assert real[chosen].all()
    # Positions ascending, unused slots 0 with label 0.
    slots = out["mask_weights"].astype(bool)
    for row in range(0, len(ids), 97):
        positions = out["mask_positions"][row][slots[row]]
        assert (np.diff(positions) > 0).all()
        assert (out["mask_positions"][row][~slots[row]] == 0).all()
    np.testing.assert_array_equal(out["mask_ids"][slots],
                                  np.take_along_axis(ids, out["mask_positions"], 1)[slots])
    assert (out["mask_ids"][~slots] == 0).all()
    # Unchosen tokens are untouched.
    np.testing.assert_array_equal(out["token_ids"][~chosen], ids[~chosen])


@backend_independent
def test_selection_is_uniform_over_positions(tokenizer, packed):
    """Full rows: every candidate position is chosen at the same rate."""
    ids, real = packed
    full = real.sum(1) == LENGTH
    assert full.sum() > 1000
    out = mask(tokenizer, (ids[full], real[full]))
    chosen = chosen_matrix(out, ids[full].shape)
    candidate = ~np.isin(ids[full], special_ids(tokenizer))
    thirds = np.array_split(np.arange(LENGTH), 3)
    rates = [chosen[:, t].sum() / candidate[:, t].sum() for t in thirds]
    assert max(rates) / min(rates) < 1.1, rates


@backend_independent
@pytest.mark.parametrize("mask_rate,random_rate", [(0.8, 0.1), (0.5, 0.25)])
def test_replacements_follow_the_configured_split(tokenizer, packed, mask_rate, random_rate):
    out = mask(tokenizer, packed, mask_token_rate=mask_rate, random_token_rate=random_rate,
               selection_rate=0.3, max_predictions_per_seq=40)
    chosen = chosen_matrix(out, packed[0].shape)
    original, new = packed[0][chosen], out["token_ids"][chosen]
    assert len(original) > 40000
    pool = np.array([not is_reserved(t) for t in tokenizer.vocabulary])
    # A random token equals the original with probability 1/|pool| (never for [UNK]).
    coincide = pool[original] / pool.sum()
    keep_rate = 1 - mask_rate - random_rate
    is_mask = new == tokenizer.mask_token_id
    same = new == original
    assert abs(is_mask.mean() - mask_rate) < 0.02
    assert abs(same.mean() - (keep_rate + random_rate * coincide.mean())) < 0.02
    random = new[~is_mask & ~same]
    assert abs(len(random) / len(new) - random_rate * (1 - coincide.mean())) < 0.02
    assert pool[random].all()  # never [PAD], [CLS], [SEP], [MASK], [UNK], [unusedN]
    # Uniform over the pool: the mean pool index is the middle.
    pool_index = np.cumsum(pool) - 1
    assert abs(pool_index[random].mean() / (pool.sum() - 1) - 0.5) < 0.02


def words_of(ids, tokenizer):
    """Word index per position (-1 for [CLS]/[SEP]/[PAD]), "##" continuing a word."""
    continues = np.array([t.startswith("##") for t in tokenizer.vocabulary])
    special = np.isin(ids, special_ids(tokenizer))
    starts = ~special & ~(continues[ids] & np.pad(~special[:, :-1], ((0, 0), (1, 0))))
    return np.where(special, -1, np.cumsum(starts, axis=1) - 1)


@backend_independent
def test_greedy_word_fill_is_the_originals_loop():
    rng = np.random.default_rng(0)
    sizes = rng.choice([1, 1, 1, 2, 3, 5], size=(500, 40)).astype("int32")
    sizes[:, 30:] *= rng.random((500, 10)) < 0.5  # absent words (size 0) at the end
    sizes[:, 30:] = -np.sort(-sizes[:, 30:], axis=1)
    budget = rng.integers(1, 25, size=500).astype("int32")
    got = _fill_greedily(tf.constant(sizes), tf.constant(budget)).numpy()
    for row in range(500):
        taken, total = [], 0
        for size in sizes[row]:  # create_masked_lm_predictions' loop
            if size == 0 or total >= budget[row]:
                taken.append(False)
                continue
            fits = total + size <= budget[row]
            taken.append(bool(fits))
            total += size * fits
        assert got[row].tolist() == taken, row


@backend_independent
def test_whole_word_masking_never_splits_a_word(tokenizer, packed):
    ids, real = packed
    out = mask(tokenizer, packed, whole_word_masking=True)
    chosen = chosen_matrix(out, ids.shape)
    words = words_of(ids, tokenizer)
    want, lengths = expected_counts(packed, 0.15, 20, special_ids(tokenizer))
    budget = budgets(lengths, 0.15, 20)
    multi_piece_chosen = 0
    for row in range(len(ids)):
        word_ids = words[row][words[row] >= 0]
        sizes = np.bincount(word_ids)
        picked = np.bincount(words[row][chosen[row]], minlength=len(sizes))
        assert ((picked == 0) | (picked == sizes)).all(), row  # never a split word
        left = budget[row] - picked.sum()
        assert left >= 0
        # The original's greedy fill: a word left out did not fit what was left.
        assert (sizes[picked == 0] > left).all(), row
        multi_piece_chosen += ((picked == sizes) & (sizes > 1)).sum()
    assert multi_piece_chosen > 500
    # Words rarely overflow the budget: the rate stays within 1% of the target.
    assert chosen.sum() / want.sum() > 0.99


@backend_independent
def test_same_seed_same_masks_new_seed_new_masks(tokenizer, packed):
    small = (packed[0][:200], packed[1][:200])
    a, b = mask(tokenizer, small, seed=(3, 4)), mask(tokenizer, small, seed=(3, 4))
    c = mask(tokenizer, small, seed=(3, 5))
    np.testing.assert_array_equal(a["token_ids"], b["token_ids"])
    assert (a["mask_positions"] != c["mask_positions"]).any()


# === BertPretrainingPreprocessor ===
def instance_dataset(packed, rows):
    """Unbatched instance dicts with variable-length ids, as data.pretraining parses them."""
    ids, real = packed[0][rows], packed[1][rows].astype(bool)
    lengths = real.sum(1)
    sep = ids == 102
    segments = np.cumsum(sep, axis=1) - sep > 0  # after the first [SEP]
    return tf.data.Dataset.from_tensor_slices({
        "token_ids": tf.RaggedTensor.from_tensor(ids, lengths=lengths),
        "segment_ids": tf.RaggedTensor.from_tensor(segments.astype("int32"), lengths=lengths),
        "is_random_next": (np.arange(len(ids)) % 2).astype("int32"),
    })


@backend_independent
def test_masks_differ_across_epochs_even_with_a_global_seed(tokenizer, packed):
    tf.random.set_seed(1234)  # what keras.utils.set_random_seed does: must not freeze masks
    pre = BertPretrainingPreprocessor(tokenizer, sequence_length=LENGTH)
    ds = pre.dataset(instance_dataset(packed, slice(1900, 2156)), 64, drop_remainder=True)
    assert ds.element_spec[0]["token_ids"].shape == (64, LENGTH)  # static, as TPUs need
    assert ds.element_spec[1]["mlm"].shape == (64, 20)
    epochs = [list(ds.as_numpy_iterator()) for _ in range(2)]
    assert len(epochs[0]) == 4
    first = np.concatenate([x["mask_positions"] for x, _, _ in epochs[0]])
    second = np.concatenate([x["mask_positions"] for x, _, _ in epochs[1]])
    assert (first != second).any(axis=1).mean() > 0.9
    for (x1, y1, _), (x2, y2, _) in zip(*epochs):  # same data, same order
        np.testing.assert_array_equal(x1["segment_ids"], x2["segment_ids"])
        np.testing.assert_array_equal(y1["nsp"], y2["nsp"])


def check_contract(x, y, w, batch, objective, length=64, cap=10):
    predictions = length - 1 if objective == "ltr" else cap
    assert set(x) == {"token_ids", "segment_ids", "padding_mask", "mask_positions"}
    for key in ("token_ids", "segment_ids", "padding_mask"):
        assert x[key].shape == (batch, length) and x[key].dtype == np.int32, key
    assert x["mask_positions"].shape == (batch, predictions)
    assert x["mask_positions"].dtype == np.int32
    assert set(y) == set(w) == ({"mlm", "nsp"} if objective == "mlm_nsp" else {"mlm"})
    assert y["mlm"].shape == w["mlm"].shape == (batch, predictions)
    assert y["mlm"].dtype == np.int32 and w["mlm"].dtype == np.float32
    if objective == "mlm_nsp":
        assert y["nsp"].shape == w["nsp"].shape == (batch,)
        assert y["nsp"].dtype == np.int32 and w["nsp"].dtype == np.float32
        assert (w["nsp"] == 1).all()


@backend_independent
@pytest.mark.parametrize("objective", ["mlm_nsp", "mlm", "ltr"])
def test_instances_and_text_give_the_contract(tokenizer, texts, objective):
    a, b = texts[0][-32:], texts[1][-32:]  # short SST-2 pairs: no truncation
    labels = np.arange(32) % 2
    pre = BertPretrainingPreprocessor(tokenizer, sequence_length=64, max_predictions_per_seq=10,
                                      objective=objective, seed=7)
    packed = pack_segments([tokenizer(a), tokenizer(b)], 64, 101, 102)
    real = np.asarray(packed["padding_mask"]).astype(bool)
    ragged = tf.RaggedTensor.from_tensor(packed["token_ids"], lengths=real.sum(1))
    instances = {"token_ids": ragged,
                 "segment_ids": tf.RaggedTensor.from_tensor(packed["segment_ids"],
                                                            lengths=real.sum(1)),
                 "is_random_next": tf.constant(labels)}
    padded = dict(instances, token_ids=ragged.to_tensor(), segment_ids=instances[
        "segment_ids"].to_tensor())
    for inputs in ((a, b, labels), instances, padded):
        x, y, w = tf.nest.map_structure(np.asarray, pre(inputs))
        check_contract(x, y, w, 32, objective)
        np.testing.assert_array_equal(x["segment_ids"], packed["segment_ids"])
        np.testing.assert_array_equal(x["padding_mask"], packed["padding_mask"])
        unmasked = np.asarray(packed["token_ids"])
        if objective == "ltr":
            np.testing.assert_array_equal(x["token_ids"], unmasked)
            np.testing.assert_array_equal(x["mask_positions"], np.tile(np.arange(63), (32, 1)))
            np.testing.assert_array_equal(y["mlm"], unmasked[:, 1:])
            np.testing.assert_array_equal(w["mlm"], real[:, 1:])
            continue
        np.testing.assert_array_equal(np.take_along_axis(unmasked, x["mask_positions"], 1)
                                      * w["mlm"], y["mlm"])
        assert (x["token_ids"] != unmasked).any() and (w["mlm"].sum(1) >= 1).all()
        if objective == "mlm_nsp":
            np.testing.assert_array_equal(y["nsp"], labels)


@backend_independent
def test_text_pairs_truncate_at_either_end_as_the_original(tokenizer, texts):
    a, b = texts[0][:300], texts[1][:300]  # Wikipedia paragraphs: most need truncating
    pre = BertPretrainingPreprocessor(tokenizer, sequence_length=64, objective="ltr", seed=0)
    x = tf.nest.map_structure(np.asarray, pre((a, b)))[0]
    ids_a, ids_b = [t.to_list() for t in (tokenizer(a), tokenizer(b))]
    want_a, want_b = (np.asarray(v) for v in truncated_lengths(
        tf.constant([len(t) for t in ids_a]), tf.constant([len(t) for t in ids_b]), 61))
    cuts = {"front": 0, "back": 0}
    for row in range(300):
        tokens, segments = x["token_ids"][row], x["segment_ids"][row]
        real = x["padding_mask"][row].astype(bool)
        got_a = tokens[1:1 + want_a[row]].tolist()
        got_b = tokens[real & (segments == 1)][:-1].tolist()
        assert len(got_b) == want_b[row]
        for got, full in ((got_a, ids_a[row]), (got_b, ids_b[row])):
            starts = [s for s in range(len(full) - len(got) + 1) if full[s:s + len(got)] == got]
            assert starts, row  # a contiguous window of the segment
            cuts["front"] += starts[0] > 0
            cuts["back"] += starts[0] + len(got) < len(full)
    assert cuts["front"] > 100 and cuts["back"] > 100, cuts


@backend_independent
def test_bad_configurations_and_inputs_raise_clear_errors(tokenizer):
    with pytest.raises(ValueError, match="objective"):
        BertPretrainingPreprocessor(tokenizer, objective="nsp")
    with pytest.raises(ValueError, match="exceeds sequence_length"):
        BertPretrainingPreprocessor(tokenizer, sequence_length=16, max_predictions_per_seq=20)
    with pytest.raises(ValueError, match="random_token_rate"):
        BertPretrainingPreprocessor(tokenizer, mask_token_rate=0.8, random_token_rate=0.3)
    with pytest.raises(ValueError, match="selection_rate"):
        BertPretrainingPreprocessor(tokenizer, mask_selection_rate=0.0)
    with pytest.raises(ValueError, match=r"\[MASK\]"):
        MaskedLMMasker(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"])
    pre = BertPretrainingPreprocessor(tokenizer, sequence_length=16, max_predictions_per_seq=3)
    with pytest.raises(ValueError, match="needs is_random_next"):
        pre((["a b"], ["c d"]))
    with pytest.raises(ValueError, match="need"):
        pre({"token_ids": tf.ragged.constant([[101, 102]])})
    with pytest.raises(tf.errors.InvalidArgumentError, match="longer than sequence_length=16"):
        pre({"token_ids": tf.ragged.constant([[101] + [2000] * 20 + [102]]),
             "segment_ids": tf.ragged.constant([[0] * 22]), "is_random_next": [0]})


@backend_independent
def test_config_round_trip(tokenizer):
    pre = BertPretrainingPreprocessor(tokenizer, sequence_length=32, max_predictions_per_seq=5,
                                      mask_selection_rate=0.3, whole_word_masking=True,
                                      objective="mlm", seed=5)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(pre))
    assert isinstance(clone, BertPretrainingPreprocessor)
    assert clone.get_config() == pre.get_config()
    one, two = pre(["an unbelievable sentence"]), clone(["an unbelievable sentence"])
    np.testing.assert_array_equal(one[0]["mask_positions"], two[0]["mask_positions"])


def test_runs_in_tf_data_and_gives_numpy_batches_on_this_backend(tokenizer, packed):
    pre = BertPretrainingPreprocessor(tokenizer, sequence_length=LENGTH, max_predictions_per_seq=10)
    x, y, w = pre((["an unbelievable film"] * 4, ["it was"] * 4, [0, 1, 0, 1]))
    if keras.config.backend() != "tensorflow":
        assert isinstance(x["token_ids"], np.ndarray)  # eager outputs are numpy
    check_contract(*tf.nest.map_structure(np.asarray, (x, y, w)), 4, "mlm_nsp", length=LENGTH)
    batches = list(pre.dataset(instance_dataset(packed, slice(1990, 2038)), 16).as_numpy_iterator())
    assert len(batches) == 3
    x, y, w = batches[0]
    check_contract(x, y, w, 16, "mlm_nsp", length=LENGTH)
    # Backend tensors: what fit() hands the model.
    ids = keras.ops.convert_to_tensor(x["token_ids"])
    assert int(keras.ops.sum(keras.ops.cast(ids == tokenizer.mask_token_id, "int32"))) > 0
