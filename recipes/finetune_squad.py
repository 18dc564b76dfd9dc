"""Fine-tune BERT for SQuAD span question answering and report the official EM / F1.

    python recipes/finetune_squad.py --train_fraction=0.8 --epochs=2
    python recipes/finetune_squad.py --preset=/path/to/uncased_L-12_H-768_A-12 \\
        --squad_file=train-v1.1.json --eval_file=dev-v1.1.json
    python recipes/finetune_squad.py --version_2_with_negative --squad_file=dev-v2.0.json

With only `--squad_file` (default: the shared dev-v1.1.json) its articles are
split: `--train_fraction` of them to train on, the rest to evaluate, so no
paragraph is on both sides. The paper's SQuAD recipe is the default: AdamW,
warm-up over 10% then linear decay, peak learning rate 5e-5, batch 32, 3 epochs,
windows of 384 tokens with stride 128. `<output_dir>` gets `results.json`
(EM/F1 and times), `predictions.json` in the official format (`{id: answer}`,
what evaluate-v1.1.py / evaluate-v2.0.py read) and, for v2.0, `null_odds.json`
(null score minus best span score per question, the scripts' `--na-prob-file`).

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
common_flags.define_preset_flag()
flags.DEFINE_string("squad_file", common_flags.shared_data("squad", "dev-v1.1.json"),
                    "SQuAD json to train on (and evaluate on, split by article, "
                    "when --eval_file is not given).")
flags.DEFINE_string("eval_file", None, "SQuAD json to evaluate on (e.g. the official dev set).")
common_flags.define_skip_bad_rows_flag()
flags.DEFINE_float("train_fraction", 0.8, "Share of --squad_file's articles to train on.",
                  lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_bool("version_2_with_negative", False, "SQuAD v2.0: questions may have no answer.")
flags.DEFINE_float("null_score_diff_threshold", 0.0, "v2.0: predict no answer when the null "
                   "score beats the best span's by more than this.")
common_flags.define_learning_rate_flag(5e-5, "Peak learning rate (the paper's SQuAD runs: 5e-5).")
common_flags.define_finetuning_flags(
    epochs_help="Epochs (the paper: 3 for v1.1, 2 for v2.0).",
    batch_size_help="Batch size (the paper: 32 for v1.1, 48 for v2.0).",
    sequence_length=384, sequence_length_help="Window length in tokens.",
    max_train_examples_help="Train on the first N training questions only.",
    max_eval_examples_help="Evaluate on the first N questions only.",
    seed_help="Random seed (article split, head initialisation, dropout).")
flags.DEFINE_integer("doc_stride", 128, "Tokens between the starts of context windows.",
                     lower_bound=1)
flags.DEFINE_integer("max_query_length", 64, "Questions are cut to this many tokens.",
                     lower_bound=1)
common_flags.define_output_flags(None, "Default: runs/squad/v1.1 (or v2.0).",
                                 save_model_help=common_flags.SAVE_MODEL_HELP)
common_flags.define_overwrite_flag()
flags.adopt_module_key_flags(common_flags)


def load_examples():
    from keras_bert_repro.data.squad import read_squad, split_by_article

    examples = read_squad(FLAGS.squad_file, FLAGS.skip_bad_rows)
    if FLAGS.eval_file:
        train, evaluation = examples, read_squad(FLAGS.eval_file, FLAGS.skip_bad_rows)
    else:
        train, evaluation = split_by_article(examples, FLAGS.train_fraction, seed=FLAGS.seed)
    return train[:FLAGS.max_train_examples], evaluation[:FLAGS.max_eval_examples]


def main(_):
    import keras

    import keras_bert_repro as kbr
    from keras_bert_repro.data.squad import questions_and_contexts
    from keras_bert_repro.evaluation.squad_metrics import squad_metrics
    from keras_bert_repro.models.question_answerer import BertQuestionAnswerer

    preset = common_flags.preset_path()
    version = "v2.0" if FLAGS.version_2_with_negative else "v1.1"
    output_dir = FLAGS.output_dir or os.path.join("runs", "squad", version)
    verbose = common_flags.fit_verbosity()
    train, evaluation = load_examples()
    resumed = common_flags.claim_finetuning_dir(
        output_dir, preset, [FLAGS.squad_file] + ([FLAGS.eval_file] if FLAGS.eval_file else []),
        "finetune_squad.py")
    if common_flags.finished_before(output_dir, resumed, "finetune_squad.py"):
        return 0
    print(f"SQuAD {version}: {len(train)} train / {len(evaluation)} eval questions "
          f"({len({e.title for e in train})} / {len({e.title for e in evaluation})} articles)",
          flush=True)
    keras.utils.set_random_seed(FLAGS.seed)
    model = BertQuestionAnswerer.from_preset(
        preset, sequence_length=FLAGS.sequence_length, doc_stride=FLAGS.doc_stride,
        max_query_length=FLAGS.max_query_length,
        version_2_with_negative=FLAGS.version_2_with_negative,
        null_score_diff_threshold=FLAGS.null_score_diff_threshold)
    common_flags.apply_lora(model)
    model.compile(optimizer=kbr.training.bert_adamw(FLAGS.learning_rate),
                  jit_compile=common_flags.jit_compile())

    start = time.perf_counter()
    features = model.features(questions_and_contexts(train), [e.training_answer for e in train])
    feature_seconds = time.perf_counter() - start
    print(f"{len(train)} questions -> {len(features)} windows in {feature_seconds:.1f} s",
          flush=True)
    start = time.perf_counter()
    callbacks, history = common_flags.resumable_fit(output_dir, f"SQuAD {version}")
    model.fit(features.inputs, features.positions, batch_size=FLAGS.batch_size,
              epochs=FLAGS.epochs, seed=FLAGS.seed, verbose=verbose, callbacks=callbacks)
    train_seconds = time.perf_counter() - start

    start = time.perf_counter()
    answers = model.predict(questions_and_contexts(evaluation), batch_size=64,
                            return_details=True, verbose=verbose)
    predict_seconds = time.perf_counter() - start
    predictions = {e.id: a["text"] for e, a in zip(evaluation, answers)}
    metrics = squad_metrics(evaluation, predictions,
                            version_2_with_negative=FLAGS.version_2_with_negative)

    with open(os.path.join(output_dir, "predictions.json"), "w", encoding="utf-8") as f:
        json.dump(predictions, f, indent=2, ensure_ascii=False)
    if FLAGS.version_2_with_negative:
        with open(os.path.join(output_dir, "null_odds.json"), "w") as f:
            json.dump({e.id: a["null_score_diff"] for e, a in zip(evaluation, answers)}, f,
                      indent=2)
    results = {
        "version": version, "preset": preset, "squad_file": os.path.abspath(FLAGS.squad_file),
        "eval_file": os.path.abspath(FLAGS.eval_file) if FLAGS.eval_file else None,
        "train_questions": len(train), "train_windows": len(features),
        "eval_questions": len(evaluation), "learning_rate": FLAGS.learning_rate,
        "epochs": FLAGS.epochs, "batch_size": FLAGS.batch_size,
        "sequence_length": FLAGS.sequence_length, "doc_stride": FLAGS.doc_stride,
        "max_query_length": FLAGS.max_query_length, "backend": keras.config.backend(),
        "train_loss": [round(epoch["train_loss"], 4) for epoch in history],
        "metrics": metrics,
        "seconds": {"features": round(feature_seconds, 1), "train": round(train_seconds, 1),
                    "predict": round(predict_seconds, 1)},
    }
    common_flags.write_results(output_dir, results)
    print(f"eval {json.dumps(metrics)} -> {output_dir}/results.json, predictions.json")
    common_flags.save_model(model, output_dir)


if __name__ == "__main__":
    common_flags.run(main)
