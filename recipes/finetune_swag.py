"""Fine-tune BERT on SWAG (multiple choice over four endings) and report dev accuracy.

    python recipes/finetune_swag.py --data_dir=/path/to/swagaf/data
    python recipes/finetune_swag.py --preset=/path/to/uncased_L-12_H-768_A-12 --epochs=3

Reads SWAG's release layout (`<data_dir>/train.csv` and `val.csv`). Each example
becomes four `[CLS] sent1 [SEP] sent2 ending_i [SEP]` sequences scored by one
dense layer over the pooled output, softmax across the four. Defaults are the
paper's SWAG run (3 epochs, learning rate 2e-5, batch 16) with the original
code's 80 tokens per choice. Dev accuracy after each epoch and the run time go
to `<output_dir>/results.json`.

A rerun with the same flags and --output_dir continues a killed run from its
last finished epoch (the history before it is kept in results.json) and does
not repeat a finished one; a rerun with other flags, preset or data into the
same folder is refused (--overwrite starts over).
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

import common_flags  # noqa: E402

FLAGS = flags.FLAGS
common_flags.define_data_dir_flag("swag", "Folder with train.csv and val.csv.")
common_flags.define_preset_flag()
common_flags.define_learning_rate_flag(2e-5, "Peak learning rate (the paper: 2e-5).")
common_flags.define_finetuning_flags(
    epochs_help="Epochs (the paper: 3).", batch_size=16,
    batch_size_help="Examples (of four sequences each) per batch (the paper: 16).",
    sequence_length=80, sequence_length_help="Max packed length of each choice.",
    max_eval_examples_help="Evaluate on only the first N dev examples.")
common_flags.define_output_flags(os.path.join("runs", "swag"), "Where results.json goes.",
                                 save_model_help=common_flags.SAVE_MODEL_HELP)
common_flags.define_overwrite_flag()
flags.adopt_module_key_flags(common_flags)


def take(data, n):
    (contexts, endings), labels = data
    return (contexts[:n], endings[:n]), labels[:n]


def main(_):
    import keras
    import numpy as np

    import keras_bert_repro as kbr
    from keras_bert_repro.data.swag import read_swag
    from keras_bert_repro.models.multiple_choice import BertMultipleChoice

    preset = common_flags.preset_path()
    output_dir = FLAGS.output_dir
    train_texts, train_labels = take(read_swag(FLAGS.data_dir, "train"), FLAGS.max_train_examples)
    dev_texts, dev_labels = take(read_swag(FLAGS.data_dir, "val"), FLAGS.max_eval_examples)
    resumed = common_flags.claim_finetuning_dir(
        output_dir, preset, [os.path.join(FLAGS.data_dir, f"{split}.csv")
                             for split in ("train", "val")], "finetune_swag.py")
    if common_flags.finished_before(output_dir, resumed, "finetune_swag.py"):
        return 0
    print(f"swag: {len(train_labels)} train / {len(dev_labels)} dev examples; "
          f"lr {FLAGS.learning_rate:g} x {FLAGS.epochs} epochs", flush=True)

    keras.utils.set_random_seed(FLAGS.seed)
    model = BertMultipleChoice.from_preset(preset, num_choices=4,
                                           sequence_length=FLAGS.sequence_length)
    common_flags.apply_lora(model)
    model.compile(optimizer=kbr.training.bert_adamw(FLAGS.learning_rate),
                  jit_compile=common_flags.jit_compile())

    def dev_accuracy(epoch):
        logits = model.predict(dev_texts, batch_size=64, verbose=0)
        accuracy = float(np.mean(np.argmax(logits, axis=-1) == np.asarray(dev_labels)))
        print(f"  epoch {epoch + 1}: dev accuracy {accuracy:.4f}", flush=True)
        return {"accuracy": accuracy}

    callbacks, history = common_flags.resumable_fit(output_dir, "swag", dev_accuracy)
    start = time.perf_counter()
    model.fit(train_texts, np.asarray(train_labels), batch_size=FLAGS.batch_size,
              epochs=FLAGS.epochs, seed=FLAGS.seed, callbacks=callbacks,
              verbose=common_flags.fit_verbosity())
    results = {"task": "swag", "metric": "accuracy", "preset": preset,
               "train_examples": len(train_labels), "dev_examples": len(dev_labels),
               "learning_rate": FLAGS.learning_rate, "batch_size": FLAGS.batch_size,
               "sequence_length": FLAGS.sequence_length, "epochs": history,
               "accuracy": history[-1]["accuracy"],
               "train_seconds": round(time.perf_counter() - start, 1)}
    common_flags.write_results(output_dir, results)
    print(f"dev accuracy {results['accuracy']:.4f} -> {output_dir}/results.json")
    common_flags.save_model(model, output_dir)


if __name__ == "__main__":
    common_flags.run(main)
