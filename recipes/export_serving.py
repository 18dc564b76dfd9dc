"""Export a fine-tuned model as a SavedModel that TF Serving serves on raw text.

    python recipes/export_serving.py --model=runs/glue/sst2/model.keras \
        --output=saved_models/sst2/1
    python recipes/export_serving.py --model=runs/glue/mrpc --output=saved_models/mrpc/1
    python recipes/export_serving.py --model=runs/ner/model.keras --output=saved_models/ner/1
    python recipes/export_serving.py --model=runs/squad/model.keras --output=saved_models/squad/1
    python recipes/export_serving.py --model=runs/swag/model.keras --output=saved_models/swag/1
    python recipes/export_serving.py --model=... --output=... --signatures=ids  # no TF Text

The task (classifier, token classifier, question answerer, multiple choice) is
read from the saved model; `--task` only checks it. A classifier fine-tuned on
text pairs (MRPC, STS-B, MNLI, ...) gets a `text` + `text_pair` signature, one on
single texts a `text` signature: the model records which. Writes TF Serving's layout
(saved_model.pb, variables/, assets/vocab.txt,
assets.extra/tf_serving_warmup_requests) and prints the custom op types the
graph needs; `saved_model_cli show --dir <output> --all` lists the signatures.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

import common_flags  # noqa: E402

TASKS = {"classifier": ("BertClassifier", "BertFeatureClassifier"),
         "token_classifier": ("BertTokenClassifier",),
         "question_answerer": ("BertQuestionAnswerer",),
         "multiple_choice": ("BertMultipleChoice",)}

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "A task model saved with model.save('....keras'), or a "
                    "fine-tuning run's output_dir (its model.keras).")
flags.DEFINE_string("output", None, "saved_models/<name>/<version>")
flags.DEFINE_enum("task", None, list(TASKS), "Expected task; default: whatever --model is.")
flags.DEFINE_bool("pairs", None, "Classifiers: the text signature takes text and text_pair; "
                  "default: what the model was fine-tuned on (--nopairs: single texts).")
flags.DEFINE_list("label_names", None, "Token classifiers: the tag of each label id "
                  "(default: the model's own label_names; a model saved without them, "
                  "by 0.1.0, needs this flag).")
flags.DEFINE_list("signatures", ["text", "ids"], "text and/or ids.")
flags.DEFINE_bool("overwrite", False, "Replace what --output holds (a served version is "
                  "otherwise never replaced).")
flags.mark_flags_as_required(["model", "output"])


def main(_):
    import keras

    import keras_bert_repro as kbr

    if os.path.isdir(FLAGS.output) and os.listdir(FLAGS.output) and not FLAGS.overwrite:
        raise common_flags.UsageError(f"{FLAGS.output} holds an export already; "
                         "give the next version number, or pass --overwrite.")
    path = FLAGS.model
    if os.path.isdir(path):
        path = os.path.join(path, "model.keras")
    if not os.path.isfile(path):
        raise common_flags.UsageError(f"--model {path} does not exist (fine-tuning recipes write "
                         "<output_dir>/model.keras).")
    task = keras.saving.load_model(path)
    kind = type(task).__name__
    if FLAGS.task and kind not in TASKS[FLAGS.task]:
        raise common_flags.UsageError(f"--task={FLAGS.task} but {FLAGS.model} holds a {kind}.")
    try:
        ops = kbr.export_saved_model(task, FLAGS.output, pairs=FLAGS.pairs,
                                     signatures=tuple(FLAGS.signatures),
                                     label_names=FLAGS.label_names)
    except (TypeError, ValueError) as e:
        if "label_names" in str(e):
            raise common_flags.UsageError(
                f"{e} (on the command line: --label_names=O,B-PER,...)") from None
        if "pairs=" in str(e):
            raise common_flags.UsageError(str(e).replace("pairs=", "--pairs=")) from None
        raise
    print(f"Serve it: tensorflow_model_server --rest_api_port=8501 "
          f"--model_name={os.path.basename(os.path.dirname(os.path.abspath(FLAGS.output)))} "
          f"--model_base_path={os.path.abspath(os.path.dirname(FLAGS.output))}")
    if ops:
        print(f"The server binary must link these TF Text ops: {', '.join(ops)} "
              "(or export with --signatures=ids).")


if __name__ == "__main__":
    common_flags.run(main)
