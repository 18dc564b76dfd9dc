"""Serving speed: the exported SavedModel, called from TensorFlow, against Keras on the same text.

    python -m benchmarks.serving [--repeats 10]
        [--tasks classifier,token_classifier,multiple_choice,question_answerer]

MiniLM-L6 weights from the real checkpoint (random task heads), TensorFlow
backend, one process, timings interleaved. Per task: latency at batch 1 (median
milliseconds per call) and throughput at batch 32 (examples per second) of
- the SavedModel's `serving_default` on raw strings (tokenization, and for
  question answering the windows and span search, inside the graph);
- Keras `predict` on the same raw text (the task's tf.data / numpy path);
- classifier only: Keras `predict_on_batch` on the preprocessor's output
  (eager preprocessing, then the compiled forward pass).
"""

import argparse
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"  # export and serving run on TF; compare like with like

import tensorflow as tf  # noqa: E402

from benchmarks.common import data_path, interleaved, sst2  # noqa: E402
from benchmarks.results import add_row, table, write_section  # noqa: E402

TASKS = ("classifier", "token_classifier", "multiple_choice", "question_answerer")


def task_inputs(task, batch):
    """`(signature inputs, Keras predict input)` for `batch` examples."""
    if task == "classifier":
        texts = sst2("dev")[0][:batch]
        return {"text": texts}, texts
    if task == "token_classifier":
        from keras_bert_repro.data.conll import read_conll

        texts = [" ".join(words) for words in read_conll(data_path("conll2003"), "dev")[0][:batch]]
        return {"text": texts}, [t.split() for t in texts]
    if task == "multiple_choice":
        pool = sst2("dev")[0]
        contexts = pool[:batch]
        endings = [[pool[batch + 4 * i + j] for j in range(4)] for i in range(batch)]
        return {"context": contexts, "endings": endings}, (contexts, endings)
    from keras_bert_repro.data.squad import questions_and_contexts, read_squad

    questions, contexts = questions_and_contexts(
        read_squad(data_path("squad", "dev-v1.1.json"))[:batch])
    return {"question": questions, "context": contexts}, (questions, contexts)


def build(task, preset):
    import keras

    import keras_bert_repro as kbr

    keras.utils.set_random_seed(0)
    if task == "classifier":
        return kbr.BertClassifier.from_preset(preset, num_classes=2, sequence_length=128)
    if task == "token_classifier":
        return kbr.BertTokenClassifier.from_preset(preset, num_classes=9, sequence_length=128)
    if task == "multiple_choice":
        return kbr.BertMultipleChoice.from_preset(preset, num_choices=4, sequence_length=128)
    return kbr.BertQuestionAnswerer.from_preset(preset, sequence_length=384, doc_stride=128,
                                                max_query_length=64)


def measure(task, preset, repeats, export_root):
    """{candidate: (batch-1 ms, batch-32 examples/s)}."""
    import keras_bert_repro as kbr

    model = build(task, preset)
    export_dir = os.path.join(export_root, task, "1")
    kbr.export_saved_model(model, export_dir, warmup_texts=None)
    serve = tf.saved_model.load(export_dir).signatures["serving_default"]
    results = {}
    for batch in (1, 32):
        signature_inputs, keras_inputs = task_inputs(task, batch)
        tensors = {k: tf.constant(v) for k, v in signature_inputs.items()}
        fns = {"SavedModel serving_default (raw text)": lambda: serve(**tensors),
               "Keras predict (raw text)": lambda: model.predict(keras_inputs, verbose=0)}
        if task == "classifier":
            fns["Keras preprocessor + predict_on_batch"] = lambda: model.predict_on_batch(
                model.preprocessor(keras_inputs))
        times = interleaved(fns, repeats if batch == 1 else max(3, repeats // 2))
        for name, seconds in times.items():
            ms, per_s = results.get(name, (None, None))
            results[name] = (seconds * 1000, per_s) if batch == 1 else (ms, batch / seconds)
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    from benchmarks.models import minilm_path

    preset = minilm_path()
    rows = []
    with tempfile.TemporaryDirectory() as export_root:
        for task in args.tasks.split(","):
            results = measure(task, preset, args.repeats, export_root)
            served = results["SavedModel serving_default (raw text)"]
            for name, (ms, per_s) in results.items():
                add_row(rows, f"| {task} | {name} | {ms:.1f} | {per_s:.1f} | "
                              f"{ms / served[0]:.2f}x | {served[1] / per_s:.2f}x |")
    body = ("MiniLM-L6 (L6/H384/A12) from the real checkpoint with random task heads, "
            "TensorFlow backend, one process, timings interleaved (median of "
            f"{args.repeats} calls at batch 1, {max(3, args.repeats // 2)} at batch 32). "
            "Inputs: SST-2 dev sentences (classifier; multiple choice: a sentence and 4 "
            "others as endings), CoNLL-2003 dev sentences (token classifier), SQuAD v1.1 dev "
            "questions and paragraphs (question answerer, sequence length 384, doc stride "
            "128). The SavedModel is the one `kbr.export_saved_model` writes (tokenization, "
            "windows and answer search in the graph), called through its signature from "
            "TensorFlow; Keras `predict` does the same work on the same strings. Speed-up "
            "columns: how many times faster the SavedModel is than that row (candidate "
            "latency / SavedModel latency; SavedModel throughput / candidate throughput).\n\n"
            + table(("task", "candidate", "batch 1 latency (ms)", "batch 32 (examples/s)",
                     "SavedModel speed-up, batch 1", "SavedModel speed-up, batch 32"), rows))
    command = "python -m benchmarks.serving" + (
        f" --repeats={args.repeats}" if args.repeats != 10 else "") + (
        f" --tasks={args.tasks}" if args.tasks != ",".join(TASKS) else "")
    write_section("Serving (SavedModel vs Keras)", command, body)


if __name__ == "__main__":
    main()
