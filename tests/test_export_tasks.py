"""SavedModel export of the token classifier, question answerer and multiple choice
models: served from a process with only TensorFlow + TF Text, they answer raw
strings exactly as the Keras models' own `predict` does; and on fuzzed text
(tests/fuzz.py's strategies, issue 25) too."""

import json
import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

import keras_bert_repro as kbr
from keras_bert_repro.data.conll import CONLL2003_LABELS, read_conll
from keras_bert_repro.data.squad import questions_and_contexts, read_squad
from keras_bert_repro.evaluation.entity_f1 import entity_spans
from keras_bert_repro.text.word_preprocessor import to_ragged_words
from tests.conftest import shared_data
from tests.fuzz import TEXT
from tests.serving_process import POSTAMBLE, PREAMBLE

LONG = "word " * 3000
NUM_LABELS = len(CONLL2003_LABELS)
UNICODE = "Crème brûlée, Ⅻ und İstanbul: ﬁne 東京 café\u0301 naïve ß."

# The served-vs-Keras checks export three tasks (80 s): once, in the first pass. The
# serving graphs are built on TF whatever the backend; the other backends' path (their
# .keras file rebuilt on TF) is test_export.py's, in every pass.
served_once = pytest.mark.backend_independent


LOADER = PREAMBLE + r"""
import json
job = json.load(open(sys.argv[1]))
models = {name: tf.saved_model.load(path) for name, path in job["models"].items()}
out = {"signatures": {name: {sig: sorted(fn.structured_outputs)
                             for sig, fn in model.signatures.items()}
                      for name, model in models.items()}}
def plain(x):
    if isinstance(x, list):
        return [plain(i) for i in x]
    return x.decode("utf-8") if isinstance(x, bytes) else x
for name, request in job["requests"].items():
    fn = models[request.pop("model")].signatures[request.pop("signature")]
    outputs = fn(**{k: tf.constant(v) for k, v in request.items()})
    out[name] = {k: plain(v.numpy().tolist()) for k, v in outputs.items()}
json.dump(out, open(sys.argv[2], "w"))
""" + POSTAMBLE


def serve(tmp_path, models, requests):
    """Calls the SavedModels' signatures from one fresh process without Keras or this library."""
    job, result = tmp_path / "job.json", tmp_path / "result.json"
    job.write_text(json.dumps({"models": models, "requests": requests}))
    done = subprocess.run([sys.executable, "-c", LOADER, str(job), str(result)],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""},
                          cwd="/")
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(result.read_text())


def tiny_backbone():
    return kbr.BertBackbone(vocabulary_size=30522, num_layers=2, num_heads=2, hidden_dim=64,
                            intermediate_dim=128, max_sequence_length=64)


def spread_head(model, layer_name):
    """Logits of a few units rather than ~0.01, so matching them to 1e-4 means something."""
    kernel = model.get_layer(layer_name).kernel
    kernel.assign(np.random.default_rng(0).normal(0, 0.5, kernel.shape).astype("float32"))


@pytest.fixture(scope="module")
def tokenizer():
    return kbr.BertTokenizer(str(shared_data("vocab", "bert-base-uncased-vocab.txt")))


@pytest.fixture(scope="module")
def models(tokenizer):
    keras.utils.set_random_seed(0)
    ner = kbr.BertTokenClassifier(tiny_backbone(), label_names=CONLL2003_LABELS,
                                  preprocessor=kbr.BertWordPreprocessor(tokenizer, 64))
    spread_head(ner, "logits")
    qa = kbr.BertQuestionAnswerer(tiny_backbone(), preprocessor=kbr.BertSquadPreprocessor(
        tokenizer, sequence_length=64, doc_stride=16, max_query_length=16))
    spread_head(qa, "span_logits")
    mc = kbr.BertMultipleChoice(tiny_backbone(), num_choices=4,
                                preprocessor=kbr.BertMultipleChoicePreprocessor(
                                    tokenizer, sequence_length=64, pad_to_multiple_of=16))
    spread_head(mc, "choice_score")
    return {"ner": ner, "qa": qa, "mc": mc}


@pytest.fixture(scope="module")
def exported(models, tmp_path_factory):
    root = tmp_path_factory.mktemp("saved_models")
    dirs, ops = {}, {}
    for name, model in models.items():
        dirs[name] = str(root / name / "1")
        ops[name] = kbr.export_saved_model(model, dirs[name])
    return dirs, ops


@pytest.fixture(scope="module")
def data():
    sentences, _ = read_conll(str(shared_data("conll2003")), "dev")
    questions, contexts = questions_and_contexts(
        read_squad(shared_data("squad", "dev-v1.1.json"))[:64])
    texts = [" ".join(words) for words in sentences[:64]]
    return {
        "ner": {"text": texts},
        "ner_edge": {"text": ["", "  \t ", " Peter  Blackburn\u3000met\u00a0Anna ", UNICODE,
                              LONG]},
        "qa": {"question": questions, "context": contexts},
        "qa_edge": {"question": ["", "What is it?", "Where?", UNICODE, ""],
                    "context": ["", LONG, UNICODE, contexts[0], "short"]},
        "mc": {"context": texts,
               "endings": [[texts[(i + j) % 64] for j in (1, 2, 3, 4)] for i in range(64)]},
        "mc_edge": {"context": ["", LONG, UNICODE],
                    "endings": [["", "", "", ""], [LONG, "a", "", UNICODE],
                                ["one", "two", "three", LONG]]},
    }


def ner_reference(model, text):
    """Per sentence, what the served outputs must hold, from the Keras model."""
    words = [t.split() for t in text]
    labels = model.predict(words, verbose=0)
    ragged = to_ragged_words(words)
    inputs = model.preprocessor(ragged)
    logits = keras.ops.convert_to_numpy(model.predict_on_batch(inputs))
    rows = []
    for row, first in enumerate(model.preprocessor.word_starts(ragged).to_list()):
        first = np.asarray(first, dtype=int)
        tags = [CONLL2003_LABELS[i] for i in labels[row]]
        spans = entity_spans(tags)
        word_spans = [m.span() for m in re.finditer(r"\S+", text[row])]  # as str.split()
        rows.append({
            "words": words[row], "label_ids": labels[row].tolist(), "labels": tags,
            "word_logits": np.where((first >= 0)[:, None], logits[row, np.maximum(first, 0)],
                                    0.0).reshape(len(first), NUM_LABELS),
            "entities": [(t, s, e + 1) for t, s, e in spans],
            "entity_texts": [text[row][word_spans[s][0]:word_spans[e][1]] for _, s, e in spans]})
    return rows, (inputs, logits)


@pytest.fixture(scope="module")
def reference(models, data):
    """The Keras models' own predictions on every case, and ids inputs with their logits."""
    ner, qa, mc = models["ner"], models["qa"], models["mc"]
    out = {"ner": ner_reference(ner, data["ner"]["text"])[0]}
    out["ner_edge"], ids_ner = ner_reference(ner, data["ner_edge"]["text"])
    for case in ("qa", "qa_edge"):
        out[case] = qa.predict((data[case]["question"], data[case]["context"]),
                               return_details=True, verbose=0)
    for case in ("mc", "mc_edge"):
        out[case] = mc.predict((data[case]["context"], data[case]["endings"]), verbose=0)
    windows = {k: v[:64] for k, v in qa.preprocessor(
        (data["qa_edge"]["question"], data["qa_edge"]["context"])).inputs.items()}
    out["qa_windows"] = len(qa.preprocessor((data["qa"]["question"], data["qa"]["context"])))
    mc_inputs = mc.preprocessor((data["mc_edge"]["context"], data["mc_edge"]["endings"]))
    out["ids"] = {"ner": ids_ner, "mc": (mc_inputs, mc.predict_on_batch(mc_inputs)),
                  "qa": (windows, qa.predict_on_batch(windows))}
    return out


@pytest.fixture(scope="module")
def served(exported, data, reference, tmp_path_factory):
    """One serving process answers every request the tests below check."""
    model = {"n": "ner", "q": "qa", "m": "mc"}
    requests = {case: {"model": model[case[0]], "signature": "serving_default", **inputs}
                for case, inputs in data.items()}
    # Batch 1: an example of the big batch, alone.
    for case, row in (("ner", 5), ("qa", 7), ("mc", 0)):
        requests[case + "_one"] = {**requests[case], **{
            k: v[row:row + 1] for k, v in data[case].items()}}
    for name, (inputs, _) in reference["ids"].items():
        requests[name + "_ids"] = {"model": name, "signature": "serving_ids",
                                   **{k: np.asarray(v).tolist() for k, v in inputs.items()}}
    return serve(tmp_path_factory.mktemp("serve"), exported[0], requests)


# === Token classification ===

def check_ner(expected, out):
    for row, ref in enumerate(expected):
        n, e = len(ref["words"]), len(ref["entities"])
        assert out["num_words"][row] == n and out["words"][row][:n] == ref["words"]
        assert out["label_ids"][row][:n] == ref["label_ids"]
        assert out["labels"][row][:n] == ref["labels"]
        assert set(out["label_ids"][row][n:]) <= {-1}
        np.testing.assert_allclose(np.reshape(out["word_logits"][row][:n], (n, NUM_LABELS)),
                                   ref["word_logits"], atol=1e-4)
        assert out["num_entities"][row] == e
        assert list(zip(out["entity_labels"][row], out["entity_starts"][row],
                        out["entity_ends"][row]))[:e] == ref["entities"]
        assert out["entity_texts"][row][:e] == ref["entity_texts"]


@served_once
def test_token_classifier_serves_words_labels_and_entities(served, reference):
    assert sorted(served["signatures"]["ner"]) == ["serving_default", "serving_ids"]
    check_ner(reference["ner"], served["ner"])
    assert sum(served["ner"]["num_entities"]) > 64  # the decoding is exercised
    check_ner(reference["ner"][5:6], served["ner_one"])


@served_once
def test_token_classifier_edge_texts(served, reference):
    edge = served["ner_edge"]
    assert edge["num_words"][:3] == [0, 0, 4] and edge["num_entities"][:2] == [0, 0]
    assert edge["words"][2][:4] == ["Peter", "Blackburn", "met", "Anna"]  # Unicode spaces
    # Words past the 62 pieces that fit are labelled 0 ("O") with zero logits.
    assert edge["num_words"][4] == 3000 and edge["label_ids"][4][100:] == [0] * 2900
    check_ner(reference["ner_edge"], edge)


# === Question answering ===

def check_qa(expected, out, contexts):
    assert out["answer"] == [a["text"] for a in expected]
    assert out["start"] == [-1 if a["start"] is None else a["start"] for a in expected]
    assert out["end"] == [-1 if a["end"] is None else a["end"] for a in expected]
    np.testing.assert_allclose(out["score"], [a["score"] or 0.0 for a in expected], atol=1e-4)
    for answer, start, end, context in zip(out["answer"], out["start"], out["end"], contexts):
        assert context[start:end] == answer if start >= 0 else answer == ""


@served_once
def test_question_answerer_serves_answers_with_in_graph_windows(served, reference, data):
    assert sorted(served["signatures"]["qa"]["serving_default"]) == ["answer", "end", "score",
                                                                     "start"]
    contexts = data["qa"]["context"]
    # SQuAD paragraphs are longer than one 64-token window: several windows each.
    assert reference["qa_windows"] > 3 * len(contexts)
    check_qa(reference["qa"], served["qa"], contexts)
    check_qa(reference["qa"][7:8], served["qa_one"], contexts[7:8])


@served_once
def test_question_answerer_edge_texts(served, reference, data):
    edge = served["qa_edge"]
    assert edge["answer"][0] == "" and edge["start"][0] == -1 and edge["score"][0] == 0.0
    assert edge["answer"][1].startswith("word")  # a 3,000-word context, never truncated
    check_qa(reference["qa_edge"], edge, data["qa_edge"]["context"])


# === Multiple choice ===

def check_mc(expected, out):
    np.testing.assert_allclose(out["logits"], expected, atol=1e-4)
    np.testing.assert_allclose(np.sum(out["probabilities"], axis=-1), 1.0, atol=1e-5)
    assert out["choice"] == np.argmax(expected, axis=-1).tolist()


@served_once
def test_multiple_choice_serves_choice_scores(served, reference):
    assert sorted(served["signatures"]["mc"]["serving_default"]) == [
        "choice", "logits", "probabilities"]
    check_mc(reference["mc"], served["mc"])
    assert len(set(served["mc"]["choice"])) > 1
    check_mc(reference["mc"][:1], served["mc_one"])
    check_mc(reference["mc_edge"], served["mc_edge"])


# === Fuzzed text (issue 25): the served answer is the Keras model's ===

@pytest.fixture(scope="module")
def loaded(exported):
    """The exports, loaded in this process: hypothesis draws the inputs here."""
    return {name: tf.saved_model.load(path) for name, path in exported[0].items()}


def plain(x):
    if isinstance(x, list):
        return [plain(i) for i in x]
    return x.decode("utf-8") if isinstance(x, bytes) else x


def call(model, **inputs):
    outputs = model.signatures["serving_default"](
        **{k: tf.constant(v) for k, v in inputs.items()})
    return {k: plain(v.numpy().tolist()) for k, v in outputs.items()}


@served_once
@given(texts=st.lists(TEXT, min_size=1, max_size=3))
def test_served_token_classifier_agrees_with_keras_on_fuzzed_text(models, loaded, texts):
    check_ner(ner_reference(models["ner"], texts)[0], call(loaded["ner"], text=texts))


@served_once
@given(pairs=st.lists(st.tuples(TEXT, TEXT), min_size=1, max_size=3))
def test_served_question_answerer_agrees_with_keras_on_fuzzed_text(models, loaded, pairs):
    questions, contexts = (list(x) for x in zip(*pairs, strict=True))
    expected = models["qa"].predict((questions, contexts), return_details=True, verbose=0)
    check_qa(expected, call(loaded["qa"], question=questions, context=contexts), contexts)


@served_once
@given(rows=st.lists(st.tuples(TEXT, st.lists(TEXT, min_size=4, max_size=4)), min_size=1,
                     max_size=2))
def test_served_multiple_choice_agrees_with_keras_on_fuzzed_text(models, loaded, rows):
    contexts, endings = [r[0] for r in rows], [r[1] for r in rows]
    expected = models["mc"].predict((contexts, endings), verbose=0)
    check_mc(expected, call(loaded["mc"], context=contexts, endings=endings))


# === Ids signatures, layout ===

@served_once
def test_ids_signatures_match_keras(served, reference):
    for name, (_, logits) in reference["ids"].items():
        got = served[name + "_ids"]
        if name == "qa":
            got = np.stack([got["start_logits"], got["end_logits"]], axis=1)
        else:
            got = got["logits"]
        np.testing.assert_allclose(got, keras.ops.convert_to_numpy(logits), atol=1e-4)
    np.testing.assert_array_equal(served["ner_ids"]["label_ids"],
                                  np.argmax(served["ner_ids"]["logits"], axis=-1))


@pytest.mark.backend_independent
def test_layout_custom_ops_warmup_and_cli(exported):
    from tensorflow_serving.apis import prediction_log_pb2

    dirs, ops = exported
    inputs = {"ner": ["text"], "qa": ["context", "question"], "mc": ["context", "endings"]}
    for name, export_dir in dirs.items():
        # Long-standing TF Text ops only, none that TF Serving builds often lack.
        assert set(ops[name]) <= {"FastWordpieceTokenizeWithOffsets", "NormalizeUTF8",
                                  "RegexSplitWithOffsets"}, ops[name]
        with open(os.path.join(export_dir, "assets.extra", "custom_ops.txt")) as f:
            assert f.read().split() == ops[name]
        assert os.path.isfile(os.path.join(export_dir, "assets", "vocab.txt"))
        path = os.path.join(export_dir, "assets.extra", "tf_serving_warmup_requests")
        request = prediction_log_pb2.PredictionLog.FromString(
            next(iter(tf.data.TFRecordDataset(path))).numpy()).predict_log.request
        assert request.model_spec.name == name and sorted(request.inputs) == inputs[name]
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    shown = subprocess.run([cli, "show", "--dir", dirs["qa"], "--all"],
                           capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert "signature_def['serving_ids']" in shown.stdout
    assert "inputs['question']" in shown.stdout and "outputs['answer']" in shown.stdout


@pytest.mark.backend_independent
def test_squad_v2_null_answers_and_export_errors(models, data, tmp_path):
    qa = models["qa"]
    v2 = kbr.BertQuestionAnswerer(qa.backbone, preprocessor=qa.preprocessor,
                                  version_2_with_negative=True)
    v2.set_weights(qa.get_weights())
    questions, contexts = data["qa"]["question"][:16], data["qa"]["context"][:16]
    diffs = [a["null_score_diff"] for a in v2.predict((questions, contexts),
                                                      return_details=True, verbose=0)]
    # Halfway between two neighbouring diffs, so no example sits on the threshold
    # (where float noise between the Keras and the exported graph could flip it).
    ranked = sorted(set(np.round(diffs, 3)))
    middle = len(ranked) // 2
    v2.null_score_diff_threshold = float(ranked[middle - 1] + ranked[middle]) / 2
    kbr.export_saved_model(v2, str(tmp_path / "squad2" / "1"), warmup_texts=None)
    # The same process is fine here: the fresh-process load is checked above.
    out = tf.saved_model.load(str(tmp_path / "squad2" / "1")).signatures["serving_default"](
        question=tf.constant(questions), context=tf.constant(contexts))
    expected = v2.predict((questions, contexts), return_details=True, verbose=0)
    answers = [a.decode() for a in out["answer"].numpy()]
    assert answers == [a["text"] for a in expected]
    assert 0 < answers.count("") < 16  # both sides of the threshold
    np.testing.assert_allclose(out["null_score_diff"], [a["null_score_diff"] for a in expected],
                               atol=1e-4)
    np.testing.assert_allclose(out["score"], [a["score"] for a in expected], atol=1e-4)
    with pytest.raises(ValueError, match="label_names"):
        kbr.export_saved_model(models["ner"], str(tmp_path / "x"), label_names=["O", "B-X"])
    with pytest.raises(ValueError, match="pairs=True"):
        kbr.export_saved_model(qa, str(tmp_path / "x"), pairs=True)
