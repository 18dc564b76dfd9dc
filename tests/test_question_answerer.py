"""SQuAD: token offsets, windows, answer positions, post-processing, the official
metrics, and BertQuestionAnswerer's fit/predict/save on a small random encoder."""

import itertools
import json
import unicodedata

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_bert_repro as kbr
from keras_bert_repro.data.squad import (
    questions_and_contexts, read_squad, split_by_article)
from keras_bert_repro.evaluation.squad_metrics import (
    exact_match, f1, normalize_answer, squad_metrics)
from keras_bert_repro.export.question_answering import best_spans
from keras_bert_repro.models.question_answerer import BertQuestionAnswerer
from keras_bert_repro.text.offsets import OffsetTokenizer
from keras_bert_repro.text.squad_postprocessing import best_answers
from keras_bert_repro.text.squad_preprocessor import (
    BertSquadPreprocessor, doc_spans, max_context_mask)
from tests.bert_tokenization_oracle import _clean_text, _strip_accents
from tests.conftest import shared_data
from tests.tokenizer_hard_cases import HARD_CASES

backend_independent = pytest.mark.backend_independent
SEQUENCE_LENGTH = 64


@pytest.fixture(scope="module")
def tokenizer(minilm_dir):
    return kbr.BertTokenizer.from_preset(minilm_dir)


@pytest.fixture(scope="module")
def squad():
    return read_squad(shared_data("squad", "dev-v1.1.json"))


@pytest.fixture(scope="module")
def preprocessor(tokenizer):
    return BertSquadPreprocessor(tokenizer, sequence_length=SEQUENCE_LENGTH, doc_stride=16,
                                 max_query_length=16)


def answers_of(examples):
    return [e.training_answer for e in examples]


# === Offsets (backend independent) ===

def _uncovered_is_blank(text, starts, ends):
    covered = np.zeros(len(text), bool)
    for s, e in zip(starts, ends):
        covered[s:e] = True
    return all(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Mn", "Zs")
               or ch == "\ufffd" for ch, c in zip(text, covered) if not c)


@backend_independent
def test_offsets_give_the_tokenizer_ids_and_map_back_exactly(tokenizer, squad):
    contexts = list(dict.fromkeys(e.context for e in squad))[::10]
    texts = HARD_CASES + contexts
    ids, starts, ends = OffsetTokenizer(tokenizer)(texts)
    assert ids.to_list() == tokenizer(texts).to_list()
    unk = tokenizer.token_to_id("[UNK]")
    for text, row_ids, row_starts, row_ends in zip(texts, ids.to_list(), starts.to_list(),
                                                   ends.to_list()):
        assert all(0 <= s < e <= len(text) for s, e in zip(row_starts, row_ends)), text
        assert row_starts == sorted(row_starts), text
        # Tokens from one character (a Hangul syllable decomposes into three
        # jamo pieces) share its span: their pieces together are its normal form.
        for (s, e), group in itertools.groupby(zip(row_starts, row_ends, row_ids),
                                               key=lambda t: t[:2]):
            pieces = [tokenizer.id_to_token(t[2]).removeprefix("##") for t in group]
            if tokenizer.id_to_token(unk) in pieces:
                continue
            original = _strip_accents(_clean_text(text[s:e]).lower())
            # Python lower-cases a lone final Σ to σ; in context it was ς.
            assert original.replace("ς", "σ") == "".join(pieces).replace("ς", "σ"), (
                text, text[s:e])
        if text in contexts:
            assert _uncovered_is_blank(text, row_starts, row_ends), text


@backend_independent
def test_offsets_on_text_the_normaliser_changes(tokenizer):
    texts = ["Crème brûlée", "combining e\u0301 and İSTANBUL", "ΟΔΟΣ",
             "nul\x00l zero\u200bwidth"]
    ids, starts, ends = (t.to_list() for t in OffsetTokenizer(tokenizer)(texts))
    spans = [[t[s:e] for s, e in zip(ss, ee)] for t, ss, ee in zip(texts, starts, ends)]
    tokens = [[tokenizer.id_to_token(i) for i in row] for row in ids]
    assert spans[0] == ["Cr", "ème", "br", "ûlé", "e"]
    assert tokens[0] == ["cr", "##eme", "br", "##ule", "##e"]
    # The decomposed accent stays with its letter; İ (two characters lowered) is one.
    assert spans[1] == ["combining", "e\u0301", "and", "İSTANBUL"]
    assert tokens[1][-1] == "istanbul"
    assert "".join(spans[2]) == "ΟΔΟΣ" and tokens[2][-1].endswith("ς")
    # Dropped characters inside a word stay inside its span.
    assert spans[3][0] == "nul\x00l" and tokens[3][0] == "null"
    zero = texts[3].index("zero")
    assert texts[3][zero:ends[3][-1]] == "zero\u200bwidth" and starts[3][1] == zero


# === Windows and positions (backend independent) ===

def _run_squad_doc_spans(num_tokens, max_tokens, doc_stride):
    """run_squad.py's loop, verbatim in spirit."""
    spans, start_offset = [], 0
    while start_offset < num_tokens:
        length = min(num_tokens - start_offset, max_tokens)
        spans.append((start_offset, length))
        if start_offset + length == num_tokens:
            break
        start_offset += min(length, doc_stride)
    return spans


def _run_squad_is_max_context(spans, cur_index, position):
    best_score, best_index = None, None
    for index, (start, length) in enumerate(spans):
        end = start + length - 1
        if position < start or position > end:
            continue
        score = min(position - start, end - position) + 0.01 * length
        if best_score is None or score > best_score:
            best_score, best_index = score, index
    return cur_index == best_index


@backend_independent
@pytest.mark.parametrize("num_tokens,max_tokens,stride", [
    (1, 10, 4), (10, 10, 4), (11, 10, 4), (57, 10, 4), (100, 30, 30), (100, 30, 50)])
def test_spans_and_max_context_follow_run_squad(num_tokens, max_tokens, stride):
    spans = doc_spans(num_tokens, max_tokens, stride)
    assert spans == _run_squad_doc_spans(num_tokens, max_tokens, stride)
    mask = max_context_mask(spans, num_tokens)
    expected = [[_run_squad_is_max_context(spans, i, p) for p in range(num_tokens)]
                for i in range(len(spans))]
    np.testing.assert_array_equal(mask, expected)
    assert (mask.sum(axis=0) == 1).all()


@backend_independent
def test_windows_cover_a_long_context_and_positions_decode_to_the_answer(
        preprocessor, tokenizer, squad):
    examples = [e for e in squad if len(e.context) > 1500][:6]
    features = preprocessor(questions_and_contexts(examples), answers=answers_of(examples))
    context_ids, context_starts, _ = OffsetTokenizer(tokenizer)(
        [e.context for e in examples])
    question_lengths = [min(len(q), 16) for q in tokenizer([e.question for e in examples])]
    for index, example in enumerate(examples):
        windows = np.flatnonzero(features.example_index == index)
        ids, starts = context_ids[index].numpy(), context_starts[index].numpy()
        seen, max_context = np.zeros(len(ids), int), np.zeros(len(ids), int)
        for k, w in enumerate(windows):
            in_context = features.token_char_starts[w] >= 0
            positions = np.flatnonzero(in_context)
            window = slice(16 * k, 16 * k + len(positions))  # doc_stride apart
            np.testing.assert_array_equal(features.token_ids[w, positions], ids[window])
            np.testing.assert_array_equal(features.token_char_starts[w, positions], starts[window])
            # [CLS] question [SEP] | context [SEP] | padding
            assert positions[0] == 2 + question_lengths[index]
            last = positions[-1] + 1
            assert features.token_ids[w, last] == tokenizer.sep_token_id
            np.testing.assert_array_equal(np.flatnonzero(features.segment_ids[w]),
                                          np.arange(positions[0], last + 1))
            assert features.padding_mask[w].sum() == last + 1
            seen[window] += 1
            max_context[window] += features.max_context[w, positions]
            s, e = features.start_positions[w], features.end_positions[w]
            if s == 0:
                assert e == 0
                continue
            answer = example.training_answer
            assert example.context[features.token_char_starts[w, s]:
                                   features.token_char_ends[w, e]] == answer["text"]
        assert len(windows) > 3 and (seen >= 1).all() and (max_context == 1).all()
        assert (features.start_positions[windows] > 0).any()


@backend_independent
def test_answer_span_is_the_tightest_token_span(preprocessor):
    """What run_squad.py's _improve_answer_span recovers (its own example: the
    answer "1895" in the whitespace word "(1895-1943).")."""
    context = "John Smith (1895-1943). Birmingham-born, he moved."
    answers = [{"text": "1895", "answer_start": 12}, {"text": "Birmingham", "answer_start": 24}]
    features = preprocessor((["When?", "Which?"], [context, context]), answers=answers)
    for w, answer in enumerate(answers):
        s, e = features.start_positions[w], features.end_positions[w]
        assert context[features.token_char_starts[w, s]:features.token_char_ends[w, e]] == \
            answer["text"]
    # No answer (v2.0) points at [CLS].
    none = preprocessor((["When?"], [context]), answers=[None])
    assert (none.start_positions[0], none.end_positions[0]) == (0, 0)


@backend_independent
def test_bad_input_is_named(preprocessor, tokenizer):
    with pytest.raises(ValueError, match="not at character 4"):
        preprocessor((["q"], ["some context"]), answers=[{"text": "other", "answer_start": 4}])
    with pytest.raises(ValueError, match="2 questions and 1 contexts"):
        preprocessor((["q", "r"], ["c"]))
    with pytest.raises(ValueError, match="leaves no room"):
        BertSquadPreprocessor(tokenizer, sequence_length=20, max_query_length=17)
    with pytest.raises(ValueError, match="questions, contexts"):
        preprocessor(["just one list"])


# === Post-processing (backend independent) ===

def _logits_for(features, window, start, end, null=-5.0):
    logits = np.full((len(features), 2, SEQUENCE_LENGTH), -10.0, "float32")
    logits[:, :, 0] = null
    logits[window, 0, start] = 5.0
    logits[window, 1, end] = 5.0
    return logits


@backend_independent
def test_best_answer_is_the_exact_context_text(preprocessor):
    context = "Denver  Broncos\n(AFC) beat the Carolina Panthers 24–10 at Levi's Stadium."
    features = preprocessor((["Who won?"], [context]))
    starts = features.token_char_starts[0]
    s = int(np.flatnonzero(starts == context.index("Denver"))[0])
    e = int(np.flatnonzero(starts == context.index(")"))[0])
    answer = best_answers(features, _logits_for(features, 0, s, e))[0]
    assert answer["text"] == "Denver  Broncos\n(AFC)"  # the original whitespace
    assert context[answer["start"]:answer["end"]] == answer["text"]
    assert answer["score"] == pytest.approx(10.0)
    assert abs(sum(b["probability"] for b in answer["n_best"]) - 1) < 1e-6
    assert len({b["text"] for b in answer["n_best"]}) == len(answer["n_best"])
    # A span longer than max_answer_length is never chosen.
    short = best_answers(features, _logits_for(features, 0, s, e), max_answer_length=3)[0]
    assert short["text"] != answer["text"]


@backend_independent
def test_no_valid_pair_in_the_n_best_still_gives_the_best_span(preprocessor):
    """The best start is a question token, so no n-best pair counts: the answer is the
    best valid span over all positions, never "" (run_squad.py's "empty")."""
    context = "Denver Broncos beat the Carolina Panthers."
    features = preprocessor((["Who won?"], [context]))
    c = int(np.flatnonzero(features.token_char_starts[0] == context.index("Carolina"))[0])
    logits = _logits_for(features, 0, c, c + 1)
    logits[0, 0, 1] = 20.0  # "who": the best start, outside the context
    answer = best_answers(features, logits, n_best_size=1)[0]
    assert answer["text"] == "Carolina Panthers" and answer["score"] == pytest.approx(10.0)
    assert [b["text"] for b in answer["n_best"]] == ["Carolina Panthers"]


@backend_independent
@pytest.mark.parametrize("n_best_size", [1, 20])
def test_the_served_span_search_picks_what_best_answers_picks(preprocessor, squad, n_best_size):
    """The exported graph's search (export.question_answering.best_spans) against
    `best_answers` on random logits over multi-window SQuAD contexts: the n-best
    pairs, and at n_best_size=1 (where 5 or more of the examples have no valid pair)
    the search over all positions."""
    examples = squad[:60:3]
    features = preprocessor(questions_and_contexts(examples))
    logits = np.random.default_rng(0).normal(
        size=(len(features), 2, SEQUENCE_LENGTH)).astype("float32")
    expected = best_answers(features, logits, n_best_size=n_best_size)
    found, score, start, end = best_spans(
        tf.constant(logits), tf.constant(features.example_index),
        tf.constant(features.token_char_starts), tf.constant(features.token_char_ends),
        tf.constant(features.max_context), len(examples), n_best_size, 30)
    assert found.numpy().all() and all(a["text"] for a in expected)
    assert start.numpy().tolist() == [a["start"] for a in expected]
    assert end.numpy().tolist() == [a["end"] for a in expected]
    np.testing.assert_allclose(score.numpy(), [a["score"] for a in expected], atol=1e-5)
    if n_best_size == 1:  # the top start and end are no valid span in many examples
        s, e = logits[:, 0].argmax(1), logits[:, 1].argmax(1)
        rows = np.arange(len(features))
        pair_valid = ((features.token_char_starts[rows, s] >= 0)
                      & (features.token_char_starts[rows, e] >= 0)
                      & features.max_context[rows, s] & (e >= s) & (e - s < 30))
        assert len(set(features.example_index[pair_valid])) <= len(examples) - 5


@backend_independent
def test_null_answer_of_version_2(preprocessor):
    context = "Denver Broncos beat the Carolina Panthers."
    features = preprocessor((["Who won?"], [context]))
    s = int(np.flatnonzero(features.token_char_starts[0] == 0)[0])
    logits = _logits_for(features, 0, s, s + 1, null=6.0)  # null 12 vs span 10
    v1 = best_answers(features, logits)[0]
    assert v1["text"] == "Denver Broncos" and "null_score_diff" not in v1
    v2 = best_answers(features, logits, version_2_with_negative=True)[0]
    assert v2["text"] == "" and v2["null_score_diff"] == pytest.approx(2.0)
    assert "" in [b["text"] for b in v2["n_best"]]
    kept = best_answers(features, logits, version_2_with_negative=True,
                        null_score_diff_threshold=2.5)[0]
    assert kept["text"] == "Denver Broncos"


@backend_independent
def test_starts_outside_their_max_context_window_are_skipped(preprocessor, squad):
    example = next(e for e in squad if len(e.context) > 1500)
    features = preprocessor(questions_and_contexts([example]))
    w, in_context = 1, features.token_char_starts[1] >= 0
    not_max = int(np.flatnonzero(in_context & ~features.max_context[w])[0])
    is_max = int(np.flatnonzero(in_context & features.max_context[w])[0])
    assert best_answers(features, _logits_for(features, w, is_max, is_max))[0]["score"] == 10.0
    # The same logits on a token whose max context is another window: never chosen.
    assert best_answers(features, _logits_for(features, w, not_max, not_max))[0]["score"] < 0


@backend_independent
def test_gold_positions_as_logits_give_back_the_gold_answers(preprocessor, squad):
    """Features, windows, max context and post-processing agree end to end."""
    examples = squad[::40]
    features = preprocessor(questions_and_contexts(examples), answers=answers_of(examples))
    logits = np.full((len(features), 2, SEQUENCE_LENGTH), -10.0, "float32")
    rows = np.arange(len(features))
    logits[rows, 0, features.start_positions] = 10.0
    logits[rows, 1, features.end_positions] = 10.0
    # Findable: in a window that is its start's max context, at most 30 tokens long.
    span = features.end_positions - features.start_positions + 1
    max_context_start = features.max_context[rows, features.start_positions]
    findable = set(features.example_index[
        (features.start_positions > 0) & (span <= 30) & max_context_start])
    assert len(findable) > 0.9 * len(examples)
    for index, answer in enumerate(best_answers(features, logits)):
        if index not in findable:
            continue
        example = examples[index]
        gold = example.training_answer["text"]
        # An answer that starts or ends inside a WordPiece gets the whole piece.
        assert answer["text"] == gold or gold in answer["text"], (gold, answer["text"])
        assert answer["start"] <= example.training_answer["answer_start"]


# === Metrics and data (backend independent) ===

@backend_independent
def test_metrics_on_hand_computed_cases():
    assert normalize_answer("The  Denver Broncos!") == "denver broncos"
    assert normalize_answer("an apple, a pear") == "apple pear"
    assert normalize_answer("theater") == "theater"  # articles only as words
    assert exact_match("the Denver Broncos", ["Denver Broncos", "Broncos"]) == 1
    assert exact_match("Denver", ["Denver Broncos"]) == 0
    # "denver" vs "denver broncos": precision 1, recall 1/2 -> F1 2/3.
    assert f1("Denver", ["Denver Broncos"]) == pytest.approx(2 / 3)
    # Max over gold answers, duplicates counted as a multiset.
    assert f1("x x y", ["x y", "z"]) == pytest.approx(0.8)  # P 2/3, R 1
    assert f1("", ["Denver"], version_2=False) == 0.0
    assert f1("", [""], version_2=False) == 0.0  # v1.1: no tokens, no overlap
    assert f1("", [""]) == 1.0  # v2.0: both empty agree
    assert f1("the", [""]) == 1.0  # normalizes to nothing


@backend_independent
def test_official_scores_of_both_versions():
    gold = {"q1": ["Denver Broncos", "The Broncos"], "q2": ["24–10"], "q3": []}
    predictions = {"q1": "Denver", "q2": "24–10", "q3": ""}
    v2 = squad_metrics(gold, predictions, version_2_with_negative=True)
    assert (v2["total"], v2["HasAns_total"], v2["NoAns_total"]) == (3, 2, 1)
    assert v2["exact"] == pytest.approx(100 * 2 / 3)
    assert v2["f1"] == pytest.approx(100 * (2 / 3 + 1 + 1) / 3)
    assert v2["HasAns_exact"] == 50.0 and v2["NoAns_exact"] == 100.0
    assert v2["HasAns_f1"] == pytest.approx(100 * (2 / 3 + 1) / 2)
    # v1.1 counts a missing prediction as wrong.
    v1 = squad_metrics({"q1": ["Denver Broncos"], "q2": ["x"]}, {"q1": "Denver"})
    assert v1 == {"exact_match": 0.0, "f1": pytest.approx(100 * (2 / 3) / 2)}
    # v2.0 skips it, and drops gold answers that normalize to nothing.
    v2 = squad_metrics({"q1": ["the", "a"], "q2": ["x"]}, {"q1": ""}, True)
    assert v2["total"] == 1 and v2["exact"] == 100.0


@backend_independent
def test_read_and_split_by_article(squad, tmp_path):
    assert len(squad) == 10570 and len({e.title for e in squad}) == 48
    train, evaluation = split_by_article(squad, 0.75, seed=0)
    assert len(train) + len(evaluation) == len(squad)
    assert not {e.title for e in train} & {e.title for e in evaluation}
    assert len({e.title for e in train}) == 36
    assert split_by_article(squad, 0.75, seed=0)[0] == train
    v2 = {"version": "v2.0", "data": [{"title": "T", "paragraphs": [{"context": "abc def", "qas": [
        {"id": "1", "question": "q?", "answers": [{"text": "def", "answer_start": 4}],
         "is_impossible": False},
        {"id": "2", "question": "r?", "answers": [], "is_impossible": True,
         "plausible_answers": [{"text": "abc", "answer_start": 0}]}]}]}]}
    path = tmp_path / "v2.json"
    path.write_text(json.dumps(v2))
    first, second = read_squad(str(path))
    assert first.training_answer == {"text": "def", "answer_start": 4}
    assert second.is_impossible and second.training_answer is None
    assert second.plausible_answers[0]["text"] == "abc"
    with pytest.raises(ValueError, match="train_fraction"):
        split_by_article(squad, 1.0)


# === The model (every backend) ===

@pytest.fixture(scope="module")
def question_answerer(preprocessor):
    keras.utils.set_random_seed(0)
    small = kbr.BertBackbone(vocabulary_size=30522, num_layers=2, num_heads=2, hidden_dim=64,
                             intermediate_dim=128, max_sequence_length=SEQUENCE_LENGTH)
    qa = BertQuestionAnswerer(small, preprocessor=preprocessor)
    qa.compile(optimizer=kbr.training.bert_adamw(1e-3))
    return qa


@pytest.fixture(scope="module")
def short_examples(squad):
    return [e for e in squad if len(e.context) < 400][:8]


def test_loss_is_the_mean_of_start_and_end_and_drops(question_answerer, short_examples):
    qa, x, y = question_answerer, questions_and_contexts(short_examples), \
        answers_of(short_examples)
    features = qa.features(x, y)
    logits = qa.predict(features.inputs, verbose=0)
    assert logits.shape == (len(features), 2, SEQUENCE_LENGTH)
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    positions = features.positions
    manual = -np.mean([log_probs[i, k, positions[i, k]] for i in range(len(features))
                       for k in (0, 1)])
    before = qa.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    assert before == pytest.approx(manual, rel=1e-4)
    qa.fit(x, y, batch_size=4, epochs=4, verbose=0)
    after = qa.evaluate(features.inputs, positions, verbose=0, return_dict=True)["loss"]
    assert after < before - 0.5, (before, after)


def test_predict_returns_exact_substrings_and_the_null_answer(question_answerer, squad):
    examples = [e for e in squad if len(e.context) > 1000][:3] + squad[:2]
    answers = question_answerer.predict(questions_and_contexts(examples), return_details=True,
                                        verbose=0)
    for example, answer in zip(examples, answers):
        assert answer["text"] and answer["text"] == example.context[answer["start"]:answer["end"]]
        assert answer["end"] - answer["start"] >= 1
    # (Same inputs throughout, so each backend compiles one predict step.)
    texts = question_answerer.predict(questions_and_contexts(examples), verbose=0)
    assert texts == [a["text"] for a in answers]
    question_answerer.version_2_with_negative = True  # read at predict time only
    try:
        details = question_answerer.predict(questions_and_contexts(examples),
                                            return_details=True, verbose=0)
    finally:
        question_answerer.version_2_with_negative = False
    for answer in details:
        assert (answer["text"] == "") == (answer["null_score_diff"] > 0.0)


def test_config_and_keras_round_trip(question_answerer, short_examples, tmp_path):
    x = questions_and_contexts(short_examples)  # the windows the loss test predicted on
    path = str(tmp_path / "qa.keras")
    question_answerer.save(path)
    restored = keras.models.load_model(path)
    assert isinstance(restored, BertQuestionAnswerer)
    assert isinstance(restored.preprocessor, BertSquadPreprocessor)
    assert restored.get_config()["max_answer_length"] == 30
    assert restored.preprocessor.doc_stride == 16
    features = question_answerer.features(x)
    np.testing.assert_allclose(restored.predict(features.inputs, verbose=0),
                               question_answerer.predict(features.inputs, verbose=0), atol=1e-5)
    assert restored.predict(x, verbose=0) == question_answerer.predict(x, verbose=0)


def test_bilstm_head_masks_padding_round_trips_and_refuses_foreign_layouts(tmp_path):
    """The LTR ablation's BiLSTM (Table 5): real positions do not see padding,
    the own preset keeps it, a layout without a place for it refuses it."""
    keras.utils.set_random_seed(0)
    backbone = kbr.BertBackbone(vocabulary_size=50, num_layers=1, num_heads=2, hidden_dim=16,
                                intermediate_dim=32, max_sequence_length=32, causal=True)
    qa = BertQuestionAnswerer(backbone, bilstm_units=8)
    assert qa.get_layer("span_bilstm").bilstms[0].forward_layer.units == 8
    ids = np.array([[2, 5, 6, 3, 7, 8, 9, 3]], "int32")

    def logits(length):
        pad = length - ids.shape[1]
        x = {"token_ids": np.pad(ids, ((0, 0), (0, pad))),
             "segment_ids": np.pad(np.array([[0, 0, 0, 0, 1, 1, 1, 1]], "int32"),
                                   ((0, 0), (0, pad))),
             "padding_mask": np.pad(np.ones_like(ids), ((0, 0), (0, pad)))}
        return keras.ops.convert_to_numpy(qa(x, training=False))[:, :, :ids.shape[1]]

    short, padded = logits(8), logits(24)
    np.testing.assert_allclose(padded, short, atol=1e-5)
    qa.save_to_preset(str(tmp_path / "own"), vocabulary=[f"t{i}" for i in range(45)] + [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    restored = BertQuestionAnswerer.from_preset(str(tmp_path / "own"), sequence_length=32,
                                                max_query_length=8)
    assert restored.bilstm_units == 8 and restored.backbone.causal
    np.testing.assert_allclose(keras.ops.convert_to_numpy(restored(
        {"token_ids": ids, "segment_ids": np.array([[0, 0, 0, 0, 1, 1, 1, 1]], "int32"),
         "padding_mask": np.ones_like(ids)}, training=False)), short, atol=1e-5)
    with pytest.raises(kbr.presets.UnsupportedCheckpoint, match="BiLSTM"):
        qa.save_to_preset(str(tmp_path / "hf"), format="hf", vocabulary=str(
            tmp_path / "own" / "vocab.txt"))
