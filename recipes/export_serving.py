"""Export a fine-tuned model as a SavedModel that TF Serving serves on raw text.

    python recipes/export_serving.py --model=runs/glue/sst2/model.keras \
        --output=saved_models/sst2/1
    python recipes/export_serving.py --model=... --output=... --pairs        # MRPC, STS-B
    python recipes/export_serving.py --model=... --output=... --signatures=ids  # no TF Text

Writes TF Serving's layout (saved_model.pb, variables/, assets/vocab.txt,
assets.extra/tf_serving_warmup_requests) and prints the custom op types the
graph needs; `saved_model_cli show --dir <output> --all` lists the signatures.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "A task model saved with model.save('....keras').")
flags.DEFINE_string("output", None, "saved_models/<name>/<version>")
flags.DEFINE_bool("pairs", False, "The text signature takes text and text_pair.")
flags.DEFINE_list("signatures", ["text", "ids"], "text and/or ids.")
flags.mark_flags_as_required(["model", "output"])


def main(_):
    import keras

    import keras_bert_repro as kbr

    if not os.path.isfile(FLAGS.model):
        raise SystemExit(f"--model {FLAGS.model} does not exist.")
    task = keras.saving.load_model(FLAGS.model)
    ops = kbr.export_saved_model(task, FLAGS.output, pairs=FLAGS.pairs,
                                 signatures=tuple(FLAGS.signatures))
    print(f"Serve it: tensorflow_model_server --rest_api_port=8501 "
          f"--model_name={os.path.basename(os.path.dirname(os.path.abspath(FLAGS.output)))} "
          f"--model_base_path={os.path.abspath(os.path.dirname(FLAGS.output))}")
    if ops:
        print(f"The server binary must link these TF Text ops: {', '.join(ops)} "
              "(or export with --signatures=ids).")


if __name__ == "__main__":
    app.run(main)
