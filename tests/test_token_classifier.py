"""NER: CoNLL-2003 reading, conlleval's entity F1, word -> first-piece alignment, and
BertTokenClassifier's word-level fit/predict, on a small random encoder."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_bert_repro as kbr
from keras_bert_repro.data.conll import (
    CONLL2003_LABELS, iob1_to_iob2, label_names_of, read_conll, tag_ids, tag_scheme)
from keras_bert_repro.evaluation.entity_f1 import entity_f1, entity_spans
from keras_bert_repro.models.token_classifier import BertTokenClassifier
from keras_bert_repro.text.word_preprocessor import BertWordPreprocessor
from tests.conftest import shared_data

CONLL = str(shared_data("conll2003"))


@pytest.fixture(scope="module")
def tokenizer(minilm_dir):
    return kbr.BertTokenizer.from_preset(minilm_dir)


@pytest.fixture(scope="module")
def conll_train():
    return read_conll(CONLL, "train")


@pytest.fixture(scope="module")
def conll_slice(conll_train):
    words, tags = conll_train
    return words[:48], tags[:48]


@pytest.fixture(scope="module")
def ner(tokenizer):
    """A small random encoder with the real (uncased MiniLM) vocabulary."""
    keras.utils.set_random_seed(0)
    backbone = kbr.BertBackbone(vocabulary_size=30522, num_layers=2, num_heads=2, hidden_dim=64,
                                intermediate_dim=128, max_sequence_length=64)
    # One padded shape, so each backend compiles each step function once.
    preprocessor = BertWordPreprocessor(tokenizer, sequence_length=64)
    return BertTokenClassifier(backbone, label_names=CONLL2003_LABELS, preprocessor=preprocessor)


# === CoNLL-2003 files ===
@pytest.mark.backend_independent
def test_read_conll_matches_the_published_counts(conll_train):
    words, tags = conll_train
    assert len(words) == 14041 and sum(map(len, words)) == 203621
    assert words[0][:3] == ["EU", "rejects", "German"] and tags[0][:3] == ["B-ORG", "O", "B-MISC"]
    assert not any(w == "-DOCSTART-" for sentence in words for w in sentence)
    assert tag_scheme(tags) == "iob2"  # the shared copy is IOB2 already
    entities = [span[0] for sentence in tags for span in entity_spans(sentence)]
    assert {t: entities.count(t) for t in ("PER", "LOC", "ORG", "MISC")} == {
        "PER": 6600, "LOC": 7140, "ORG": 6321, "MISC": 3438}
    dev_words, _ = read_conll(CONLL, "dev")
    assert len(dev_words) == 3250


@pytest.mark.backend_independent
def test_iob1_files_are_converted_to_iob2(tmp_path):
    (tmp_path / "train.txt").write_text(
        "-DOCSTART- -X- -X- O\n\nPeter NNP B-NP I-PER\nBlackburn NNP I-NP I-PER\n"
        "met VBD B-VP O\nAnna NNP B-NP I-PER\nBob NNP I-NP B-PER\n\n"
        "in IN B-PP O\nBonn NNP B-NP I-LOC\n")  # no blank line at the end
    words, tags = read_conll(str(tmp_path), "train")
    assert words == [["Peter", "Blackburn", "met", "Anna", "Bob"], ["in", "Bonn"]]
    assert tags == [["B-PER", "I-PER", "O", "B-PER", "B-PER"], ["O", "B-LOC"]]
    _, raw = read_conll(str(tmp_path), "train", scheme=None)
    assert raw[0] == ["I-PER", "I-PER", "O", "I-PER", "B-PER"] and tag_scheme(raw) == "iob1"
    assert iob1_to_iob2(["I-PER", "I-LOC", "B-LOC", "I-LOC"]) == ["B-PER", "B-LOC", "B-LOC",
                                                                   "I-LOC"]
    assert tag_ids([["O", "B-PER", "I-MISC"]]) == [[0, 1, 8]]


@pytest.mark.backend_independent
def test_conll_reading_errors_name_the_problem(tmp_path):
    (tmp_path / "test.txt").write_text("EU NNP B-NP B-ORG\nbroken\n")
    with pytest.raises(ValueError, match=r"test.txt:2: expected a word and its tag"):
        read_conll(str(tmp_path), "test")
    with pytest.raises(FileNotFoundError, match="valid.txt not found"):
        read_conll(str(tmp_path), "valid")
    with pytest.raises(ValueError, match="Unknown CoNLL split 'eval'"):
        read_conll(str(tmp_path), "eval")
    with pytest.raises(ValueError, match="Tag 'B-DATE' is not in the label list"):
        tag_ids([["O", "B-DATE"]])


# === conlleval's entity F1 ===
@pytest.mark.backend_independent
def test_entity_spans_follow_conlleval_chunk_rules():
    assert entity_spans(["B-PER", "I-PER", "O", "B-LOC"]) == [("PER", 0, 1), ("LOC", 3, 3)]
    # IOB1: I- starts an entity after O; B- splits two adjacent entities of one type.
    assert entity_spans(["I-PER", "I-PER", "B-PER", "O", "I-ORG"]) == [
        ("PER", 0, 1), ("PER", 2, 2), ("ORG", 4, 4)]
    # A type change ends one entity and starts another, whatever the prefix.
    assert entity_spans(["B-PER", "I-LOC", "I-LOC"]) == [("PER", 0, 0), ("LOC", 1, 2)]
    # Types may hold hyphens (split at the first one); E- tags end IOE chunks.
    assert entity_spans(["B-GPE-X", "I-GPE-X", "E-PER", "E-PER"]) == [
        ("GPE-X", 0, 1), ("PER", 2, 2), ("PER", 3, 3)]
    assert entity_spans(["O", "O"]) == [] and entity_spans([]) == []


@pytest.mark.backend_independent
def test_entity_f1_hand_computed():
    gold = [["B-PER", "I-PER", "O", "B-LOC", "O"], ["B-ORG", "I-ORG", "I-ORG"], ["B-MISC"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG", "O"],  # LOC predicted as ORG: type mismatch
            ["B-ORG", "I-ORG", "O"],                # ORG cut short: boundary mismatch
            ["I-MISC"]]                             # IOB1 start, same entity as B-MISC
    r = entity_f1(gold, pred)
    assert (r["found_correct"], r["found_guessed"], r["correct"], r["tokens"]) == (4, 4, 2, 9)
    assert r["precision"] == r["recall"] == r["f1"] == 0.5
    assert r["accuracy"] == pytest.approx(6 / 9)  # token tags compared as strings
    assert r["per_type"]["ORG"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0,
                                    "found_correct": 1, "found_guessed": 2, "correct": 0}
    assert r["per_type"]["LOC"]["found_guessed"] == 0 and r["per_type"]["LOC"]["recall"] == 0.0
    assert r["per_type"]["PER"]["f1"] == 1.0 and r["per_type"]["MISC"]["f1"] == 1.0


@pytest.mark.backend_independent
def test_entity_f1_conlleval_edge_cases():
    # The sentence boundary ends an entity: I-PER at the next sentence's start is new.
    r = entity_f1([["O", "I-PER"], ["I-PER"]], [["O", "I-PER"], ["I-PER"]])
    assert (r["found_correct"], r["correct"], r["f1"]) == (2, 2, 1.0)
    # Same start and type, but the guess runs on into a different type: not correct.
    r = entity_f1([["B-PER", "I-PER"]], [["B-PER", "I-LOC"]])
    assert (r["found_correct"], r["found_guessed"], r["correct"]) == (1, 2, 0)
    # Two gold entities merged by the guess: one guess, no correct one.
    r = entity_f1([["B-PER", "B-PER"]], [["B-PER", "I-PER"]])
    assert (r["found_correct"], r["found_guessed"], r["correct"]) == (2, 1, 0)
    # No predicted entity: precision 0 (not a division by zero), recall 0, F1 0.
    r = entity_f1([["B-PER"]], [["O"]])
    assert (r["precision"], r["recall"], r["f1"], r["per_type"]["PER"]["found_guessed"]) == (
        0.0, 0.0, 0.0, 0)
    with pytest.raises(ValueError, match="Sentence 0: 2 gold tags but 1 predicted"):
        entity_f1([["O", "O"]], [["O"]])


# === Words -> first pieces ===
@pytest.mark.backend_independent
def test_label_goes_on_the_first_piece_of_each_word(tokenizer):
    pre = BertWordPreprocessor(tokenizer, sequence_length=16)
    words = [["Ouagadougou", "is", "hot"], ["EU"]]
    x, y, weight = pre(words, [[5, 0, 0], [3]])
    pieces = [tokenizer.id_to_token(i) for i in np.asarray(x["token_ids"][0])[:9]]
    assert pieces == ["[CLS]", "ou", "##aga", "##dou", "##go", "##u", "is", "hot", "[SEP]"]
    np.testing.assert_array_equal(np.asarray(y[0])[:9], [0, 5, 0, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(np.asarray(weight[0]), [0, 1, 0, 0, 0, 0, 1, 1] + [0] * 8)
    np.testing.assert_array_equal(np.asarray(weight[1])[:4], [0, 1, 0, 0])
    assert np.asarray(y[1])[1] == 3 and np.asarray(x["padding_mask"][1]).sum() == 3
    assert pre.word_starts(words).to_list() == [[1, 6, 7], [1]]


@pytest.mark.backend_independent
def test_empty_words_and_truncation(tokenizer):
    pre = BertWordPreprocessor(tokenizer, sequence_length=6)
    words = [["a", "", "\u200b", "b", "c", "d"]]
    x, y, weight = pre(words, [[1, 2, 3, 4, -1, 6]])
    # A word that tokenizes to nothing keeps a slot as [UNK]; four pieces fit.
    assert [tokenizer.id_to_token(i) for i in np.asarray(x["token_ids"][0])] == [
        "[CLS]", "a", "[UNK]", "[UNK]", "b", "[SEP]"]
    np.testing.assert_array_equal(np.asarray(y[0]), [0, 1, 2, 3, 4, 0])
    np.testing.assert_array_equal(np.asarray(weight[0]), [0, 1, 1, 1, 1, 0])
    assert pre.word_starts(words).to_list() == [[1, 2, 3, 4, -1, -1]]  # c, d cut off
    _, _, weight = pre([["a", "b"]], [[1, -1]])  # a negative label: an ignored word
    np.testing.assert_array_equal(np.asarray(weight[0]), [0, 1, 0, 0, 0, 0])
    with pytest.raises(tf.errors.InvalidArgumentError, match="one label per word"):
        pre([["a", "b"]], [[1]])
    with pytest.raises(TypeError, match="not one string"):
        pre("a b")


# === The model, on every backend ===
def test_fit_lowers_the_loss_and_predicts_a_label_per_word(ner, conll_slice):
    words, tags = conll_slice
    labels = tag_ids(tags)
    x, y, weight = ner.preprocessor(words, labels)
    ner.compile(optimizer=kbr.training.bert_adamw(1e-3))
    # Batches of 48 and 1 sentences throughout, so each backend compiles two shapes.
    before = float(ner.loss(y, ner.predict_on_batch(x), sample_weight=weight))
    ner.fit(words, labels, batch_size=16, epochs=2, verbose=0, seed=1)
    logits = keras.ops.convert_to_numpy(ner.predict_on_batch(x))
    after = float(ner.loss(y, logits, sample_weight=weight))
    assert after < before - 0.3, (before, after)
    # Only first pieces count: the loss is the mean cross-entropy over words...
    first = np.asarray(weight) > 0
    assert first.sum() == sum(map(len, words))  # no sentence here is cut (longest: 51)
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    word_loss = -np.take_along_axis(log_p, np.asarray(y)[..., None], -1)[..., 0][first]
    assert after == pytest.approx(word_loss.mean(), rel=1e-4)
    # ...and the accuracy metric is the word accuracy of predict.
    too_long = ["the"] * 70  # one piece each; 62 fit in 64
    predicted = ner.predict(words + [too_long], batch_size=48, truncated_label=-7, verbose=0)
    assert [len(p) for p in predicted] == [len(w) for w in words] + [70]  # one label per word
    assert (predicted[-1][:62] >= 0).all() and (predicted[-1][62:] == -7).all()
    predicted = predicted[:-1]
    ner.reset_metrics()
    accuracy = ner.compute_metrics(x, y, logits, sample_weight=weight)["accuracy"]
    word_accuracy = np.mean(np.concatenate(predicted) == np.concatenate(labels))
    assert float(accuracy) == pytest.approx(word_accuracy, abs=1e-6)
    decoded = [[CONLL2003_LABELS[i] for i in p] for p in predicted]
    assert entity_f1(tags, decoded)["tokens"] == sum(map(len, words))
    assert all(0 <= s <= e < len(w) for w, d in zip(words, decoded) for _, s, e in entity_spans(d))


def test_keras_file_round_trip_keeps_preprocessor_and_weights(ner, tmp_path):
    path = os.path.join(tmp_path, "ner.keras")
    ner.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored, BertTokenClassifier)
    assert isinstance(restored.preprocessor, BertWordPreprocessor)
    assert restored.get_config()["num_classes"] == 9 and restored.preprocessor.sequence_length == 64
    assert restored.label_names == list(CONLL2003_LABELS)
    x = ner.preprocessor([["Peter", "Blackburn", "visited", "Ouagadougou"]])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(restored.predict_on_batch(x)),
                               keras.ops.convert_to_numpy(ner.predict_on_batch(x)), atol=1e-5)


def test_token_ids_give_piece_logits_and_bad_input_is_named(ner):
    x = ner.preprocessor([["hello", "world"]])  # the shape of predict's last batch above
    assert tuple(ner.predict(x, verbose=0).shape) == (1, 64, 9)
    with pytest.raises(TypeError, match="takes sentences of words"):
        ner.predict(["hello world"])
    bare = BertTokenClassifier(ner.backbone, 3)
    with pytest.raises(ValueError, match="has no preprocessor"):
        bare.predict([["hello"]])


def test_label_names_give_the_classes_and_travel_with_the_model(ner, tmp_path):
    genes = ["O", "B-GENE", "I-GENE"]
    model = BertTokenClassifier(ner.backbone, label_names=genes)
    assert model.num_classes == 3 and model.get_config()["label_names"] == genes
    assert tuple(model.get_layer("logits").kernel.shape) == (64, 3)
    with pytest.raises(ValueError, match="num_classes=4 but 3 label_names"):
        BertTokenClassifier(ner.backbone, 4, label_names=genes)
    with pytest.raises(ValueError, match="Give label_names"):
        BertTokenClassifier(ner.backbone)
    with pytest.raises(ValueError, match="duplicates"):
        BertTokenClassifier(ner.backbone, label_names=["O", "B-GENE", "O"])
    with pytest.raises(TypeError, match="not one string"):
        BertTokenClassifier(ner.backbone, label_names="O,B-GENE")
    # Words cut off by the sequence length are "outside", wherever "O" sits.
    assert BertTokenClassifier(ner.backbone, label_names=["B-GENE", "I-GENE", "O"]) \
        .outside_label == 2
    assert model.outside_label == 0
    # A text export needs the tags, and never guesses CoNLL's for a 9-label model.
    unnamed = BertTokenClassifier(ner.backbone, 9, preprocessor=ner.preprocessor)
    with pytest.raises(ValueError, match="has no label_names"):
        kbr.export_saved_model(unnamed, str(tmp_path / "ner" / "1"))
    with pytest.raises(ValueError, match="duplicates"):
        kbr.export_saved_model(unnamed, str(tmp_path / "ner" / "1"), label_names=["O"] * 9)
    assert not (tmp_path / "ner").exists()


@pytest.mark.backend_independent
def test_label_names_of_the_data():
    assert label_names_of([["B-PER", "O"], ["I-LOC"]]) == list(CONLL2003_LABELS)
    assert label_names_of([["O", "I-GENE", "B-GENE", "B-CHEM"]]) == [
        "O", "B-CHEM", "B-GENE", "I-GENE"]


@pytest.mark.backend_independent
def test_fit_groups_sentences_of_similar_length(ner, conll_slice):
    """Word batches come from one length bucket each (padded to its multiple) but
    for what the buckets leave, pooled; every sentence once per epoch with its own
    labels, and the dataset knows its batch count (for the schedule)."""
    words, tags = conll_slice
    labels = [[CONLL2003_LABELS.index(t) for t in row] for row in tags]
    pre = BertWordPreprocessor(ner.preprocessor.tokenizer, sequence_length=64,
                               pad_to_multiple_of=8)
    model = BertTokenClassifier(ner.backbone, len(CONLL2003_LABELS), preprocessor=pre)
    dataset = model._text_dataset(words, labels, batch_size=4, shuffle=True, seed=0,
                                  group_by_length=True)

    def rows(ids, y, mask):
        return [(tuple(i[m > 0]), tuple(l[m > 0])) for i, l, m in zip(ids, y, mask)]

    expected = []
    for sentence, row_labels in zip(words, labels):
        x, y, _ = keras.tree.map_structure(np.asarray, pre([sentence], [row_labels]))
        expected += rows(x["token_ids"], y, x["padding_mask"])
    got, pooled = [], 0
    for x, y, _ in dataset:
        mask = x["padding_mask"].numpy()
        buckets = (mask.sum(1) - 1) // 8
        pooled += len(set(buckets)) > 1 or len(mask) < 4
        assert mask.shape[1] == 8 * (buckets.max() + 1)
        got += rows(x["token_ids"].numpy(), y.numpy(), mask)
    assert sorted(got) == sorted(expected)
    counts = np.bincount([(len(ids) - 1) // 8 for ids, _ in expected])
    assert pooled <= np.ceil(sum(counts % 4) / 4)
    assert int(dataset.cardinality()) == len(list(dataset))
