"""Fine-tune BERT on a GLUE task with the paper's recipe and report the official metric.

    python recipes/finetune_glue.py --task=sst2 --epochs=3 --learning_rates=5e-5,3e-5,2e-5
    python recipes/finetune_glue.py --task=mrpc --preset=/path/to/uncased_L-12_H-768_A-12
    python recipes/finetune_glue.py --task=cola --restarts=5
    python recipes/finetune_glue.py --task=sst2 --feature_based --feature_layers=-4,-3,-2,-1
    python recipes/finetune_glue.py --task=sst2 --lm_adaptation_steps=2000

Reads GLUE's layout (`<data_dir>/<Task>/{train,dev,test}.tsv`; default: the shared
data beside the repo; `--data_dir=tfds` reads TensorFlow Datasets' `glue/<task>`,
which needs `tensorflow-datasets` and a network). Per learning rate of the grid it trains a fresh model
(AdamW, warm-up over 10% then linear decay, batch 32) and evaluates dev after
each epoch; `--restarts=N` trains N seeds per rate and keeps the best on dev, as
the paper did for its small data sets; the best run's dev metrics, the whole grid and run times go to
`<output_dir>/results.json`, the best model to `<output_dir>/model.keras`, TensorBoard
logs beside it, and with
`--predict_test` the test predictions in GLUE's submission format.
`--lm_adaptation_steps=N` first continues masked-LM pre-training of the preset
for N steps on domain text (`--lm_adaptation_text`, a glob of text files;
default: the task's own training texts) and fine-tunes from the result.
`--feature_based` trains only a dense head over the frozen model's
`--feature_layers`, concatenated and pooled (`--feature_pooling`: the mean over
tokens or the [CLS] position); the paper's feature-based use, 5.3.

A rerun with the same flags and --output_dir continues a killed run from its
last finished epoch (the history before it is kept in results.json) and does
not repeat a finished one; a rerun with other flags, preset or data into the
same folder is refused (--overwrite starts over).
"""

import json
import os
import shutil
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

import common_flags  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_enum("task", "sst2", ["cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte",
                                   "wnli"], "The GLUE task.")
common_flags.define_data_dir_flag("glue", "GLUE data folder, or 'tfds' for TFDS's glue/<task>.")
common_flags.define_skip_bad_rows_flag()
common_flags.define_preset_flag()
flags.DEFINE_list("learning_rates", None, "Peak learning rates to try (the paper: 5e-5,3e-5,2e-5); "
                  "default 3e-5, or 1e-3 with --feature_based.")


def _positive_rates(rates):
    try:
        return rates is None or all(float(rate) > 0 for rate in rates)
    except ValueError:
        return False


flags.register_validator("learning_rates", _positive_rates,
                         message="learning rates are positive numbers, e.g. 5e-5,3e-5")
common_flags.define_finetuning_flags(epochs_help="Epochs per run (the paper: 2-4).",
                                     sequence_length=128, sequence_length_help="Max packed length.")
flags.DEFINE_integer("restarts", 1, lower_bound=1,
                     help="Runs per learning rate, seeds --seed, --seed+1, ...; the best on dev "
                     "is kept, as the paper did on small data sets (CoLA, MRPC, RTE).")
common_flags.define_output_flags(
    None, "Default: runs/glue/<task>.",
    save_model_help="Save the best run's model as <output_dir>/model.keras "
    "(what recipes/export_serving.py exports).")
flags.DEFINE_bool("predict_test", False, "Write test predictions in GLUE's submission format.")
flags.DEFINE_bool("feature_based", False, "Freeze BERT; train a dense head on its hidden layers.")
flags.register_multi_flags_validator(
    ["feature_based", "lora_rank"], lambda f: not (f["feature_based"] and f["lora_rank"]),
    message="--feature_based freezes the backbone and --lora_rank trains updates of it: "
    "give one")
flags.DEFINE_list("feature_layers", ["-4", "-3", "-2", "-1"],
                  "With --feature_based: hidden layers to concatenate (-1: last block).")
flags.DEFINE_enum("feature_pooling", "mean", ["mean", "cls"],
                  "With --feature_based: the mean over tokens, or the [CLS] features.")
flags.DEFINE_integer("lm_adaptation_steps", 0, "Steps of masked-LM pre-training on domain text "
                     "before fine-tuning (0: none).", lower_bound=0)
flags.DEFINE_string("lm_adaptation_text", None, "With --lm_adaptation_steps: a glob of text "
                    "files, one text per line (default: the task's training texts).")
common_flags.define_overwrite_flag()
flags.adopt_module_key_flags(common_flags)


def take(texts, labels, n):
    if n is None:
        return texts, labels
    texts = tuple(t[:n] for t in texts) if isinstance(texts, tuple) else texts[:n]
    return texts, labels[:n]


def predictions_of(model, task, texts):
    import numpy as np

    logits = model.predict(texts, batch_size=64, verbose=0)
    return logits[:, 0] if task.num_classes == 1 else np.argmax(logits, axis=-1)


RUN_RESULT = "result.json"  # in each run's folder, once its epochs are done


def run_name(lr, seed):
    return f"lr{lr:g}" + (f"_seed{seed}" if FLAGS.restarts > 1 else "")


def train_one(lr, seed, task, train, dev, preset, output_dir):
    """One run of the grid in `<output_dir>/<run name>`; resumes a killed one."""
    import keras

    import keras_bert_repro as kbr
    from keras_bert_repro.evaluation import glue_metrics

    keras.utils.set_random_seed(seed)
    if FLAGS.feature_based:
        from keras_bert_repro.models.feature_classifier import BertFeatureClassifier

        model = BertFeatureClassifier.from_preset(
            preset, num_classes=task.num_classes, sequence_length=FLAGS.sequence_length,
            feature_layers=[int(i) for i in FLAGS.feature_layers], pooling=FLAGS.feature_pooling)
    else:
        model = kbr.BertClassifier.from_preset(preset, num_classes=task.num_classes,
                                               sequence_length=FLAGS.sequence_length)
    common_flags.apply_lora(model)
    model.compile(optimizer=kbr.training.bert_adamw(lr), jit_compile=common_flags.jit_compile())
    name = run_name(lr, seed)
    run_dir = os.path.join(output_dir, name)

    def dev_metrics(epoch):
        metrics = glue_metrics(task, dev[1], predictions_of(model, task, dev[0]))
        print(f"  {name} epoch {epoch + 1}: dev {json.dumps(metrics)}", flush=True)
        return metrics

    callbacks, history = common_flags.resumable_fit(run_dir, name, dev_metrics)
    try:
        import tensorboard  # noqa: F401  (tf.summary needs it; TF no longer depends on it)

        callbacks.append(keras.callbacks.TensorBoard(os.path.join(run_dir, "logs")))
    except ImportError:
        print("  (pip install tensorboard for TensorBoard logs)")
    start = time.perf_counter()
    model.fit(train[0], train[1], batch_size=FLAGS.batch_size, epochs=FLAGS.epochs,
              seed=seed, verbose=common_flags.fit_verbosity(), callbacks=callbacks)
    run = {"learning_rate": lr, "seed": seed, "epochs": history,
           "train_seconds": round(time.perf_counter() - start, 1)}
    return model, run


def adapt(preset, train_texts, output_dir):
    """LM adaptation: continued masked-LM training on domain text; returns the new preset."""
    from keras_bert_repro import adapt_language_model

    adapted = os.path.join(output_dir, "lm_adapted")
    if os.path.isdir(adapted):  # written whole (then renamed) by an earlier run
        print(f"LM adaptation: done before this rerun -> {adapted}", flush=True)
        return adapted
    texts = FLAGS.lm_adaptation_text
    if texts is None:  # the training texts themselves, both segments of pairs
        texts = [t for part in train_texts for t in part] if isinstance(train_texts, tuple) \
            else list(train_texts)
    print(f"LM adaptation: {FLAGS.lm_adaptation_steps} masked-LM steps on "
          f"{texts if isinstance(texts, str) else f'{len(texts)} training texts'}", flush=True)
    path, history = adapt_language_model(
        preset, texts, adapted + ".tmp", steps=FLAGS.lm_adaptation_steps,
        batch_size=FLAGS.batch_size, sequence_length=FLAGS.sequence_length, seed=FLAGS.seed,
        verbose=common_flags.fit_verbosity())
    shutil.rmtree(adapted, ignore_errors=True)
    os.replace(path, adapted)
    accuracy = history.get("mlm_accuracy", history.get("accuracy", [float("nan")]))[-1]
    print(f"  MLM loss {history['loss'][-1]:.3f}, accuracy {accuracy:.3f} -> {adapted}",
          flush=True)
    return adapted


def write_test_predictions(model, task, path):
    from keras_bert_repro.data import read_glue

    texts, _ = read_glue(FLAGS.data_dir, task, "test")  # every row: predictions go by index
    predictions = predictions_of(model, task, texts)
    with open(path, "w", encoding="utf-8") as f:
        f.write("index\tprediction\n")
        for i, p in enumerate(predictions):
            f.write(f"{i}\t{p:.3f}\n" if task.labels is None else f"{i}\t{task.labels[p]}\n")
    print(f"test predictions -> {path}")


def main(_):
    from keras_bert_repro.data import get_task, read_glue

    task = get_task(FLAGS.task)
    preset = common_flags.preset_path()
    output_dir = FLAGS.output_dir or os.path.join("runs", "glue", task.name)
    data = [os.path.join(FLAGS.data_dir, task.folder, f"{split}.tsv") for split in
            ("train", "dev")] if FLAGS.data_dir != "tfds" else []
    train = take(*read_glue(FLAGS.data_dir, task, "train", FLAGS.skip_bad_rows),
                 FLAGS.max_train_examples)
    dev = read_glue(FLAGS.data_dir, task, "dev", FLAGS.skip_bad_rows)
    common_flags.claim_finetuning_dir(output_dir, preset, data, "finetune_glue.py")
    n_train = len(train[1])
    if FLAGS.lm_adaptation_steps:
        preset = adapt(preset, train[0], output_dir)
    learning_rates = FLAGS.learning_rates or (["1e-3"] if FLAGS.feature_based else ["3e-5"])
    print(f"{task.name}: {n_train} train / {len(dev[1])} dev examples; metric {task.metric}; "
          f"grid {learning_rates} x {FLAGS.epochs} epochs x {FLAGS.restarts} restart(s)",
          flush=True)

    runs, best, best_model = [], None, None
    key = "pearson" if task.labels is None else task.metric
    for lr in (float(x) for x in learning_rates):
        for seed in range(FLAGS.seed, FLAGS.seed + FLAGS.restarts):
            done = os.path.join(output_dir, run_name(lr, seed), RUN_RESULT)
            if os.path.isfile(done):  # finished before a kill or an earlier invocation
                model, run = None, common_flags.read_json(done)
                print(f"  {run_name(lr, seed)}: finished before, dev "
                      f"{key}={run['epochs'][-1][key]:.4f}", flush=True)
            else:
                model, run = train_one(lr, seed, task, train, dev, preset, output_dir)
                run["best_epoch"] = max(run["epochs"], key=lambda e: e[key])
            runs.append(run)
            if best is None or run["epochs"][-1][key] > best["epochs"][-1][key]:
                best, best_model = run, model
                if model is not None:  # kept at once: a kill later loses nothing
                    common_flags.save_model(model, output_dir, quiet=True)
            if model is not None:
                common_flags.write_json(done, run)
    if best_model is None and FLAGS.predict_test and FLAGS.save_model:
        import keras

        best_model = keras.saving.load_model(os.path.join(output_dir, "model.keras"))
    results = {"task": task.name, "metric": key, "preset": preset, "train_examples": n_train,
               "lm_adaptation_steps": FLAGS.lm_adaptation_steps,
               "batch_size": FLAGS.batch_size, "epochs": FLAGS.epochs, "restarts": FLAGS.restarts,
               "feature_based": {"layers": [int(i) for i in FLAGS.feature_layers],
                                 "pooling": FLAGS.feature_pooling} if FLAGS.feature_based else None,
               "best": {"learning_rate": best["learning_rate"], "seed": best["seed"],
                        **best["epochs"][-1]},
               "runs": runs}
    common_flags.write_results(output_dir, results)
    print(f"best: lr={best['learning_rate']:g} seed={best['seed']} "
          f"dev {key}={best['epochs'][-1][key]:.4f} -> {output_dir}/results.json")
    if FLAGS.save_model:
        print(f"model -> {output_dir}/model.keras")
    if FLAGS.predict_test:
        if best_model is None:
            raise common_flags.UsageError(
                "the best run finished before this rerun and --nosave_model kept no model of "
                "it: no test predictions (rerun with --overwrite --predict_test)")
        write_test_predictions(best_model, task, os.path.join(output_dir, f"{task.folder}.tsv"))


if __name__ == "__main__":
    common_flags.run(main)
