"""Bad input never trains: fit / evaluate / predict on every task refuse bad texts,
labels and lengths with one error naming the argument and its first bad row, before
any step, and the model works as before afterwards (issue 27, point 4)."""

import keras
import numpy as np
import pytest

import keras_bert_repro as kbr
from tests.conftest import shared_data, to_numpy

TEXTS = ["a fine film", "a dull plot", "the cast is good", "long and slow"]


@pytest.fixture(scope="module")
def tokenizer():
    return kbr.BertTokenizer(str(shared_data("vocab", "bert-base-uncased-vocab.txt")))


def tiny_backbone():
    keras.utils.set_random_seed(0)
    return kbr.BertBackbone(vocabulary_size=30522, num_layers=1, num_heads=2, hidden_dim=16,
                            intermediate_dim=32, max_sequence_length=64)


@pytest.fixture(scope="module")
def classifier(tokenizer):
    return kbr.BertClassifier(tiny_backbone(), 2,
                              preprocessor=kbr.BertPreprocessor(tokenizer, sequence_length=16))


BAD_FITS = [
    # (x, y, error type, message)
    (TEXTS, [0, 1, 0, 1, 1, 0], ValueError, r"4 examples but 6 labels in y"),
    (TEXTS, [0, 1, 0], ValueError, r"4 examples but 3 labels in y"),
    (TEXTS, [0, 5, 0, 1], ValueError, r"y\[1\] is 5, outside \[0, 2\)"),
    (TEXTS, [0, 1, -1, 1], ValueError, r"y\[2\] is -1, outside \[0, 2\)"),
    (TEXTS, [0.0, 1.0, 0.5, 1.0], TypeError, r"y\[0\] is 0\.0 \(float\).*integer class ids"),
    (TEXTS, ["pos", "neg", "pos", "neg"], TypeError, r"y\[0\] is 'pos' \(str\)"),
    (["a fine film", None, "good", "bad"], [0, 1, 0, 1], TypeError,
     r"x\[1\] is None \(NoneType\), not a string"),
    (["a fine film", "dull", float("nan"), "bad"], [0, 1, 0, 1], TypeError,
     r"x\[2\] is nan \(float\), not a string"),
    ("a fine film", [1], TypeError, r"x is one string; pass a list of texts"),
    ((TEXTS, TEXTS[:3]), [0, 1, 0, 1], ValueError, r"pairs 4 first texts with 3 second"),
]


@pytest.mark.parametrize("x,y,error,message", BAD_FITS)
def test_fit_and_evaluate_refuse_bad_examples_before_any_step(classifier, x, y, error,
                                                              message):
    before = [np.array(w) for w in classifier.get_weights()]
    with pytest.raises(error, match=message):
        classifier.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(error, match=message):
        classifier.evaluate(x, y, verbose=0)
    for a, b in zip(before, classifier.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_the_model_trains_and_predicts_after_a_refused_call(classifier):
    """On JAX a fit that failed inside Keras (string labels) used to leave every later
    fit and predict failing; the refusal now comes before Keras is reached."""
    with pytest.raises(TypeError):
        classifier.fit(TEXTS, ["pos", "neg", "pos", "neg"], verbose=0)
    history = classifier.fit(TEXTS, np.array([1, 0, 1, 0]), batch_size=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert classifier.predict(TEXTS, verbose=0).shape == (4, 2)


def test_empty_input_and_bad_weights_get_one_clear_error(classifier):
    with pytest.raises(ValueError, match="predict got no examples"):
        classifier.predict([])
    with pytest.raises(ValueError, match="fit got no examples"):
        classifier.fit([], [], verbose=0)
    with pytest.raises(TypeError, match=r"x\[3\] is 7 \(int\)"):
        classifier.predict(["a", "b", "c", 7])
    with pytest.raises(ValueError, match=r"sample_weight\[1\] is -1\.0"):
        classifier.fit(TEXTS, [0, 1, 0, 1], sample_weight=[1, -1, 1, 1], verbose=0)
    with pytest.raises(ValueError, match=r"sample_weight must be one number per example \(4\)"):
        classifier.fit(TEXTS, [0, 1, 0, 1], sample_weight=[1, 1], verbose=0)


def test_string_tensors_and_arrays_pass_the_checks(classifier):
    import tensorflow as tf

    classifier.fit(tf.constant(TEXTS), np.array([1, 0, 1, 0]), batch_size=2, verbose=0)
    classifier.fit(np.array(TEXTS), np.array([1, 0, 1, 0], "int64"), batch_size=2, verbose=0)
    assert classifier.predict(tf.constant(TEXTS[:2]), verbose=0).shape == (2, 2)
    with pytest.raises(TypeError, match=r"x must be a \[batch\] string tensor"):
        classifier.fit(tf.constant([TEXTS]), np.array([1]), verbose=0)


def test_a_regressor_takes_finite_numbers(tokenizer):
    regressor = kbr.BertClassifier(tiny_backbone(), 1,
                                   preprocessor=kbr.BertPreprocessor(tokenizer, sequence_length=16))
    with pytest.raises(TypeError, match=r"y\[1\] is nan.*finite numbers"):
        regressor.fit(TEXTS, [0.5, float("nan"), 1.0, 2.0], verbose=0)
    history = regressor.fit(TEXTS, [0.5, 4.2, 1.0, 2.0], batch_size=2, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_token_classifier_checks_words_and_one_label_per_word(tokenizer):
    tagger = kbr.BertTokenClassifier(
        tiny_backbone(), label_names=["O", "B-X", "I-X"],
        preprocessor=kbr.BertWordPreprocessor(tokenizer, sequence_length=16))
    words = [["EU", "rejects", "it"], ["Peter", "Blackburn"]]
    with pytest.raises(ValueError, match=r"y\[1\] has 3 labels for 2 words"):
        tagger.fit(words, [[1, 0, 0], [1, 2, 0]], verbose=0)
    with pytest.raises(ValueError, match=r"y\[0\]\[2\] is 3; .*below num_classes=3"):
        tagger.fit(words, [[1, 0, 3], [1, 2]], verbose=0)
    with pytest.raises(TypeError, match=r"x\[1\] \(words\)\[0\] is None"):
        tagger.predict([["EU"], [None, "x"]])
    with pytest.raises(ValueError, match="predict got no examples"):
        tagger.predict([])
    history = tagger.fit(words, [[1, 0, 0], [1, 2]], batch_size=2, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert [len(p) for p in tagger.predict(words, verbose=0)] == [3, 2]


def test_multiple_choice_checks_endings_and_choice_ids(tokenizer):
    model = kbr.BertMultipleChoice(
        tiny_backbone(), num_choices=2,
        preprocessor=kbr.BertMultipleChoicePreprocessor(tokenizer, sequence_length=16))
    contexts = ["she opened the door", "he sat down"]
    endings = [["and left", "and slept"], ["on a chair", "in the sky"]]
    with pytest.raises(ValueError, match=r"y\[1\] is 2, outside \[0, 2\)"):
        model.fit((contexts, endings), [0, 2], verbose=0)
    with pytest.raises(TypeError, match=r"x\[1\]\[0\] \(endings\)\[1\] is None"):
        model.fit((contexts, [["and left", None], ["a", "b"]]), [0, 1], verbose=0)
    assert to_numpy(model.predict((contexts, endings), verbose=0)).shape == (2, 2)


def test_question_answerer_checks_answers(tokenizer):
    qa = kbr.BertQuestionAnswerer(
        tiny_backbone(), preprocessor=kbr.BertSquadPreprocessor(
            tokenizer, sequence_length=48, doc_stride=16, max_query_length=16))
    x = (["Who won?", "Where?"], ["The Broncos won the game.", "It was in Santa Clara."])
    with pytest.raises(TypeError, match=r"y\[0\] is 'The Broncos'; an answer is None or"):
        qa.fit(x, ["The Broncos", None], verbose=0)
    with pytest.raises(ValueError, match=r"y\[1\]\['answer_start'\] is -3"):
        qa.fit(x, [None, {"text": "Santa Clara", "answer_start": -3}], verbose=0)
    with pytest.raises(ValueError, match=r"2 questions but 1 answers"):
        qa.fit(x, [None], verbose=0)
    with pytest.raises(TypeError, match=r"x\[1\]\[0\] is None"):
        qa.predict((["Who won?"], [None]))
    answers = [{"text": "The Broncos", "answer_start": 0},
               {"text": "Santa Clara", "answer_start": 10}]
    history = qa.fit(x, answers, batch_size=2, verbose=0)
    assert np.isfinite(history.history["loss"][0])
