"""SavedModel export for TF Serving: signatures on raw text (TF Text in the graph) and on ids.

Export always runs on TensorFlow: from the JAX or PyTorch backend the task is
saved as `.keras` (backend-neutral weights) and rebuilt in a TensorFlow-backend
subprocess, which writes the SavedModel. What each task's signatures take and
return is in `keras_bert_repro/export/signatures.py`.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import keras
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from keras_bert_repro.export.signatures import check_task, served_pairs, serving_functions
from keras_bert_repro.presets.file_io import new_folder, replace_folder

CUSTOM_OPS_FILE = "custom_ops.txt"
WARMUP_FILE = "tf_serving_warmup_requests"
DEFAULT_WARMUP_TEXTS = ("This is a warm-up request.", "", "Another, longer warm-up sentence "
                        "so that a second shape is compiled before traffic arrives.")


def export_saved_model(task, export_dir, pairs=None, signatures=("text", "ids"),
                       warmup_texts=DEFAULT_WARMUP_TEXTS, model_name=None, label_names=None):
    """Writes `task` as a SavedModel in TF Serving's layout.

    Takes a `BertClassifier` (or `BertFeatureClassifier`), `BertTokenClassifier`,
    `BertQuestionAnswerer` or `BertMultipleChoice`; the signatures of each are
    listed in `keras_bert_repro.export.signatures`.

    Args:
        task: the task model, with its preprocessor for the text signature.
        export_dir: `saved_models/<name>/<version>`.
        pairs: classifiers: the text signature takes `text` and `text_pair`;
            default what the classifier was fine-tuned on (`task.text_pairs`,
            single texts for a model that does not know). A value that
            contradicts the model is refused.
        signatures: `("text", "ids")`: `serving_default` on raw strings and
            `serving_ids` on `token_ids`/`segment_ids`/`padding_mask`; `("ids",)`
            for servers without TF Text ops (then `serving_default` takes ids).
        warmup_texts: sample texts the requests of
            `assets.extra/tf_serving_warmup_requests` are built from (None: no file).
        model_name: the name in the warm-up requests (default: the parent folder).
        label_names: token classifiers: the tag of each label id (IOB2 or IOB1,
            e.g. `B-PER`), from which entities are decoded; default the model's
            own `label_names`. A text export of a model without them is refused.

    Returns:
        The sorted list of custom (non-core TensorFlow) op types the graph uses,
        also written to `assets.extra/custom_ops.txt`.

    Example:
    >>> kbr.export_saved_model(clf, "saved_models/sst2/1")  # doctest: +SKIP
    ['FastWordpieceTokenizeWithOffsets', 'NormalizeUTF8']
    """
    signatures = tuple(signatures)
    if not set(signatures) <= {"text", "ids"} or not signatures:
        raise ValueError(f"signatures must be drawn from ('text', 'ids'), got {signatures}.")
    if "text" in signatures and task.preprocessor is None:
        raise ValueError("A text signature needs the task's preprocessor; export with "
                         "signatures=('ids',) or attach one (e.g. a BertPreprocessor).")
    label_names = check_task(task, label_names, text="text" in signatures)
    pairs = served_pairs(task, pairs)
    model_name = model_name or os.path.basename(os.path.dirname(os.path.abspath(export_dir)))
    options = {"pairs": pairs, "signatures": signatures, "model_name": model_name,
               "warmup_texts": list(warmup_texts) if warmup_texts else None,
               "label_names": label_names}
    if keras.config.backend() == "tensorflow":
        return _export_tf(task, export_dir, **options)
    with tempfile.TemporaryDirectory() as tmp:
        keras_path = os.path.join(tmp, "task.keras")
        task.save(keras_path)
        env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
        cmd = [sys.executable, "-m", "keras_bert_repro.export.saved_model", keras_path,
               os.path.abspath(export_dir), json.dumps(options)]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"SavedModel export in a TensorFlow-backend process failed:\n"
                               f"{done.stderr[-4000:]}")
        print(done.stdout, end="")
    return read_custom_ops(export_dir)


def read_custom_ops(export_dir):
    with open(os.path.join(export_dir, "assets.extra", CUSTOM_OPS_FILE), encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def _export_tf(task, export_dir, pairs, signatures, model_name, warmup_texts, label_names):
    serving = serving_functions(task, pairs=pairs, label_names=label_names)
    module = tf.Module()
    # Track the weights only: tracking the Keras model would also save whatever
    # its preprocessor traced before, TF Text ops included, into an ids export.
    module.model_variables = [v.value for v in task.variables]
    if "text" in signatures:
        vocab_file = os.path.join(tempfile.mkdtemp(), "vocab.txt")
        with open(vocab_file, "w", encoding="utf-8") as f:
            f.write("".join(t + "\n" for t in serving.vocabulary))
        module.vocab = tf.saved_model.Asset(vocab_file)
        functions = {"serving_default": serving.text}
        if "ids" in signatures:
            functions["serving_ids"] = serving.ids
    else:
        functions = {"serving_default": serving.ids}
    # Written beside export_dir under a hidden name and renamed when whole: TF Serving
    # loads a version folder as soon as it appears (it skips names that are no
    # number), and a failed export leaves the version that was there.
    parent, name = os.path.split(os.path.abspath(export_dir))
    os.makedirs(parent, exist_ok=True)
    staging = new_folder(f".{name}.partial-", parent)
    try:
        tf.saved_model.save(module, staging, signatures=functions)
        extra = os.path.join(staging, "assets.extra")
        os.makedirs(extra, exist_ok=True)
        ops = _custom_ops(staging)
        with open(os.path.join(extra, CUSTOM_OPS_FILE), "w", encoding="utf-8") as f:
            f.write("".join(op + "\n" for op in ops))
        if warmup_texts and "text" in signatures:
            _write_warmup(os.path.join(extra, WARMUP_FILE), model_name,
                          serving.warmup_inputs(list(warmup_texts)))
        replace_folder(staging, export_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    print(f"Exported {type(task).__name__} to {export_dir}; signatures {sorted(functions)}; "
          f"custom ops the server must link: {ops or 'none'}")
    return ops


def _custom_ops(export_dir):
    """Op types in the SavedModel that core TensorFlow does not register."""
    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    used = set()
    for meta in proto.meta_graphs:
        used.update(node.op for node in meta.graph_def.node)
        for function in meta.graph_def.library.function:
            used.update(node.op for node in function.node_def)
    core = set(dir(tf.raw_ops))
    return sorted(op for op in used if op not in core)


def _write_warmup(path, model_name, inputs):
    """One `PredictionLog` whose request carries `inputs` (name -> nested lists)."""
    # tensorflow-serving-api is optional: only the warm-up file needs it.
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    with tf.io.TFRecordWriter(path) as writer:
        request = predict_pb2.PredictRequest(
            model_spec=model_pb2.ModelSpec(name=model_name, signature_name="serving_default"))
        for name, value in inputs.items():
            request.inputs[name].CopyFrom(tf.make_tensor_proto(value, dtype=tf.string))
        log = prediction_log_pb2.PredictionLog(
            predict_log=prediction_log_pb2.PredictLog(request=request))
        writer.write(log.SerializeToString())


if __name__ == "__main__":
    # The TensorFlow-backend side of an export started from JAX or PyTorch; the
    # import of `signatures` above registered the serializable classes.
    keras_path, out_dir, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    options["signatures"] = tuple(options["signatures"])
    _export_tf(keras.saving.load_model(keras_path), out_dir, **options)
