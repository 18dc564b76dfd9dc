"""Fine-tune BERT for CoNLL-2003 NER with the paper's recipe; report conlleval's entity F1.

    python recipes/finetune_ner.py --epochs=3 --learning_rate=5e-5
    python recipes/finetune_ner.py --preset=/path/to/cased_L-12_H-768_A-12 --batch_size=32

Reads `<data_dir>/{train,valid,test}.txt` (default: the shared data beside the
repo), trains on IOB2 tags with a label on each word's first WordPiece (AdamW,
warm-up over 10% then linear decay), evaluates dev entity precision/recall/F1
after each epoch as `conlleval.pl` computes them, then test. Results and run times
go to `<output_dir>/results.json`; `--write_predictions` also writes
`<split>_predictions.txt` (`word gold predicted` lines, conlleval's input format).
Sentences are labelled one at a time, without the paper's document context.

A rerun with the same flags and --output_dir continues a killed run from its
last finished epoch (the history before it is kept in results.json) and does
not repeat a finished one; a rerun with other flags, preset or data into the
same folder is refused (--overwrite starts over).
"""

import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

import common_flags  # noqa: E402

FLAGS = flags.FLAGS
common_flags.define_data_dir_flag("conll2003", "CoNLL-2003 folder.")
common_flags.define_skip_bad_rows_flag()
common_flags.define_preset_flag()
common_flags.define_learning_rate_flag(
    5e-5, "Peak learning rate (the paper's grid: 5e-5, 3e-5, 2e-5).")
common_flags.define_finetuning_flags(
    epochs_help="Epochs (the paper: 2-4).", sequence_length=128,
    sequence_length_help="Max WordPieces per sentence, [CLS] and [SEP] included; words past "
    "it are predicted O.",
    max_train_examples_help="Use only the first N training sentences.",
    max_eval_examples_help="Use only the first N dev and test sentences.")
common_flags.define_output_flags(
    None, "Default: runs/ner/conll2003.",
    save_model_help="Save the fine-tuned model as <output_dir>/model.keras.")
flags.DEFINE_bool("write_predictions", False, "Write dev and test predictions for conlleval.pl.")
common_flags.define_overwrite_flag()
flags.adopt_module_key_flags(common_flags)


def predicted_tags(model, words, verbose):
    predictions = model.predict(words, batch_size=64, verbose=verbose)
    return [[model.label_names[i] for i in sentence] for sentence in predictions]


def entity_scores(model, words, tags, verbose=0):
    """conlleval's overall and per-type scores, plus the predicted tags."""
    from keras_bert_repro.evaluation.entity_f1 import entity_f1

    predicted = predicted_tags(model, words, verbose)
    return entity_f1(tags, predicted), predicted


def write_predictions(path, words, tags, predicted):
    with open(path, "w", encoding="utf-8") as f:
        for sentence in zip(words, tags, predicted):
            f.writelines(f"{w} {t} {p}\n" for w, t, p in zip(*sentence))
            f.write("\n")
    print(f"predictions -> {path} (perl conlleval.pl < {os.path.basename(path)})")


def summary(scores):
    return {k: round(scores[k], 4) for k in ("precision", "recall", "f1")}


def main(_):
    import keras

    import keras_bert_repro as kbr
    from keras_bert_repro.data.conll import label_names_of, read_conll, tag_ids
    from keras_bert_repro.models.token_classifier import BertTokenClassifier

    start = time.perf_counter()
    preset = common_flags.preset_path()
    output_dir = FLAGS.output_dir or os.path.join("runs", "ner", "conll2003")
    splits = {}
    for split, limit in (("train", FLAGS.max_train_examples), ("valid", FLAGS.max_eval_examples),
                         ("test", FLAGS.max_eval_examples)):
        words, tags = read_conll(FLAGS.data_dir, split, skip_bad_rows=FLAGS.skip_bad_rows)
        splits[split] = (words[:limit], tags[:limit])
    resumed = common_flags.claim_finetuning_dir(
        output_dir, preset, [os.path.join(FLAGS.data_dir, f"{split}.txt")
                             for split in ("train", "valid", "test")], "finetune_ner.py")
    if common_flags.finished_before(output_dir, resumed, "finetune_ner.py"):
        return 0
    train_words, train_tags = splits["train"]
    print(f"conll2003: {len(train_words)} train / {len(splits['valid'][0])} dev / "
          f"{len(splits['test'][0])} test sentences; lr {FLAGS.learning_rate:g} x "
          f"{FLAGS.epochs} epochs", flush=True)

    keras.utils.set_random_seed(FLAGS.seed)
    # The tags travel in the model's config: its export names them without being told.
    label_names = label_names_of(train_tags)
    model = BertTokenClassifier.from_preset(preset, label_names=label_names,
                                            sequence_length=FLAGS.sequence_length)
    common_flags.apply_lora(model)
    model.compile(optimizer=kbr.training.bert_adamw(FLAGS.learning_rate),
                  jit_compile=common_flags.jit_compile())
    verbose = common_flags.fit_verbosity()

    def dev_scores(epoch):
        scores, _ = entity_scores(model, *splits["valid"])
        print(f"  epoch {epoch + 1}: dev {json.dumps(summary(scores))}", flush=True)
        return {"dev": summary(scores)}

    callbacks, history = common_flags.resumable_fit(output_dir, "conll2003", dev_scores)
    train_start = time.perf_counter()
    model.fit(train_words, tag_ids(train_tags, label_names), batch_size=FLAGS.batch_size,
              epochs=FLAGS.epochs, seed=FLAGS.seed, verbose=verbose, callbacks=callbacks)
    train_seconds = time.perf_counter() - train_start

    eval_start = time.perf_counter()
    results = {"task": "conll2003", "preset": preset, "train_sentences": len(train_words),
               "learning_rate": FLAGS.learning_rate, "batch_size": FLAGS.batch_size,
               "epochs": FLAGS.epochs, "sequence_length": FLAGS.sequence_length,
               "history": history}
    for split, name in (("valid", "dev"), ("test", "test")):
        scores, predicted = entity_scores(model, *splits[split], verbose=verbose)
        results[name] = scores
        print(f"{name}: {json.dumps(summary(scores))}", flush=True)
        if FLAGS.write_predictions:
            write_predictions(os.path.join(output_dir, f"{name}_predictions.txt"),
                              *splits[split], predicted)
    results.update(train_seconds=round(train_seconds, 1),
                   eval_seconds=round(time.perf_counter() - eval_start, 1),
                   total_seconds=round(time.perf_counter() - start, 1))
    common_flags.write_results(output_dir, results)
    print(f"dev F1 {results['dev']['f1']:.4f}, test F1 {results['test']['f1']:.4f} "
          f"-> {output_dir}/results.json")
    common_flags.save_model(model, output_dir)


if __name__ == "__main__":
    common_flags.run(main)
