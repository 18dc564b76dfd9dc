"""The paper's ablations at small scale: pre-training objectives and model size, from scratch.

    python recipes/ablations.py             # the default run: under 3 hours on 2 CPU cores (TF)
    python recipes/ablations.py --scale=4   # 4x the pre-training steps and fine-tuning data
    python recipes/ablations.py --variants=mlm_nsp,ltr --tasks=mrpc,squad --seeds=5

One WordPiece vocabulary is learnt from the pre-training text (the Wikipedia
sample) and shared. Each pre-training (`recipes/pretrain_tpu.py`, one process per
model, same steps, batch, learning rate, seed and data order for all) keeps a
preset every `--snapshot_every` steps; each snapshot's held-out accuracy on
WikiText-2 valid is measured (masked LM; next token for the left-to-right model).
Then every variant is fine-tuned with one recipe on SST-2, MRPC, CoLA, STS-B and
a SQuAD v1.1 article split, `--seeds` times, and the MLM + NSP and left-to-right
snapshots on `--curve_task` (the paper's Figure 5).

Variants: `mlm_nsp` (the paper's, BERT-Tiny L2/H128), `mlm` (no NSP), `ltr`
(left-to-right LM, no NSP), `ltr_bilstm` (the `ltr` model with a randomly
initialised BiLSTM on top, SQuAD only), `mini` (L4/H256) and `small` (L4/H512)
at MLM + NSP.

Every run writes its result once, as a file under `--output_dir`; a rerun (after
a kill, or with more seeds, variants or tasks) skips what is done and resumes a
killed pre-training from its last checkpoint. At the end `<output_dir>/ablations.md`
holds the table in the paper's layout (mean +- sd over seeds, the paper's
BERT-Base figures beside) and the orderings as measured, and `heldout_accuracy.png`
and `figure5.png` the curves.
"""

import functools
import glob
import logging
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

import ablation_report  # noqa: E402
import common_flags  # noqa: E402

FLAGS = flags.FLAGS
# name: (model size, pre-training objective, tasks it is fine-tuned on (None: all))
VARIANTS = {
    "mlm_nsp": ("tiny", "mlm_nsp", None),
    "mlm": ("tiny", "mlm", None),
    "ltr": ("tiny", "ltr", None),
    "ltr_bilstm": ("tiny", "ltr", ("squad",)),
    "mini": ("mini", "mlm_nsp", None),
    "small": ("small", "mlm_nsp", None),
}
TASKS, TASK_METRIC = ablation_report.TASKS, ablation_report.TASK_METRIC
CURVE_VARIANTS = ("mlm_nsp", "ltr")  # the paper's Figure 5: MLM against left-to-right
BILSTM_UNITS = 128

flags.DEFINE_list("variants", list(VARIANTS), f"Which of {', '.join(VARIANTS)} to run.")
flags.DEFINE_list("tasks", list(TASKS), f"Fine-tuning tasks, of {', '.join(TASKS)}.")
flags.DEFINE_integer("seeds", 3, "Fine-tuning seeds per variant and task.", lower_bound=1)
flags.DEFINE_float("scale", 1.0, "Multiplies the pre-training steps and the fine-tuning "
                   "examples (bigger machines: 4, 16, ...).", lower_bound=0.0)
flags.DEFINE_string("text_pattern", common_flags.shared_data("wikipedia-sample", "*.txt"),
                    "Pre-training text (and the vocabulary's).")
flags.DEFINE_string("heldout_text", common_flags.shared_data("wikitext-2", "wiki.valid.tokens"),
                    "Held-out text (WikiText's paragraphs format).")
flags.DEFINE_integer("heldout_batches", 30, "Held-out batches of --pretrain_batch_size.",
                     lower_bound=1)
flags.DEFINE_string("vocab_file", None, "Use this vocabulary instead of learning one.")
flags.DEFINE_integer("vocabulary_size", 8192, "Size of the vocabulary learnt (reserved "
                     "tokens included).", lower_bound=200)
flags.DEFINE_integer("pretrain_steps", 1000, "Pre-training steps at --scale=1.", lower_bound=1)
flags.DEFINE_integer("snapshots", 4, "Presets kept along pre-training (the curves' points).",
                     lower_bound=1)
flags.DEFINE_integer("pretrain_batch_size", 32, "Pre-training batch.", lower_bound=1)
flags.DEFINE_integer("pretrain_sequence_length", 128, "Pre-training sequence length.",
                     lower_bound=common_flags.MIN_LENGTH)
flags.DEFINE_float("pretrain_learning_rate", 1e-3, "Peak pre-training learning rate "
                   "(warm-up over 10%, then linear decay).", lower_bound=0.0)
flags.DEFINE_string("glue_dir", common_flags.shared_data("glue"), "GLUE data folder.")
flags.DEFINE_string("squad_file", common_flags.shared_data("squad", "dev-v1.1.json"),
                    "SQuAD v1.1 json, split by article (80% train).")
flags.DEFINE_integer("max_train_examples", 1000, "Training examples (questions for SQuAD) "
                     "per task at --scale=1, a fixed random subset.", lower_bound=1)
flags.DEFINE_integer("max_eval_examples", 1000, "Dev examples per task (SQuAD: questions).",
                     lower_bound=1)
flags.DEFINE_integer("epochs", 3, "Fine-tuning epochs.", lower_bound=1)
flags.DEFINE_integer("batch_size", 32, "Fine-tuning batch.", lower_bound=1)
flags.DEFINE_float("learning_rate", 1e-3, "Peak fine-tuning learning rate: high, as these "
                   "models are small and barely pre-trained (at 1e-4 every classifier stayed at "
                   "the majority class).", lower_bound=0.0)
flags.DEFINE_integer("sequence_length", 128, "Fine-tuning length (GLUE).",
                     lower_bound=common_flags.MIN_LENGTH)
flags.DEFINE_integer("squad_sequence_length", 192, "SQuAD window length.",
                     lower_bound=common_flags.MIN_LENGTH)
flags.DEFINE_enum("curve_task", "sst2", ["sst2", "mrpc", "cola", "stsb"],
                  "Task fine-tuned from every snapshot (Figure 5; one seed).")
common_flags.define_output_flags("runs/ablations", "Results, pre-trained models, table, plots.")
common_flags.define_seed_flag(help="Seed of pre-training; fine-tuning seeds are seed, seed+1, ...")
common_flags.define_overwrite_flag()
flags.adopt_module_key_flags(common_flags)

UsageError = common_flags.UsageError
# Flags that choose which runs are made, not what a run computes: a rerun may change them.
SELECTION_FLAGS = ("variants", "tasks", "seeds")


def _check_flags():
    unknown = sorted(set(FLAGS.variants) - set(VARIANTS)) + sorted(set(FLAGS.tasks) - set(TASKS))
    if unknown:
        raise UsageError(f"unknown variant or task {unknown}: variants are {list(VARIANTS)}, "
                         f"tasks {list(TASKS)}")
    if FLAGS.scale <= 0:
        raise UsageError(f"--scale must be above 0, got {FLAGS.scale}")
    if not glob.glob(FLAGS.text_pattern):
        raise UsageError(f"--text_pattern {FLAGS.text_pattern!r} matches no file")
    for flag in ("heldout_text", "squad_file", "vocab_file"):
        path = getattr(FLAGS, flag)
        if path and not os.path.isfile(path):
            raise UsageError(f"--{flag} {path} does not exist")


def snapshot_every():
    return max(1, int(round(FLAGS.pretrain_steps * FLAGS.scale / FLAGS.snapshots)))


def pretrain_steps():
    """--pretrain_steps x --scale, rounded to a multiple of the snapshots (the last
    snapshot is the final model)."""
    return snapshot_every() * FLAGS.snapshots


def train_examples():
    return max(8, int(round(FLAGS.max_train_examples * FLAGS.scale)))


def _path(*parts):
    return os.path.join(FLAGS.output_dir, *parts)


def _say(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _log_time(what, start):
    """Appends one finished piece of work and its seconds to `timing.jsonl`: summed by
    the report, they give the run's compute time however often it was killed and resumed."""
    ablation_report.log_time(FLAGS.output_dir, what, time.perf_counter() - start)


# === Vocabulary ===
def vocabulary():
    """The shared vocabulary: --vocab_file, or one learnt once from the training text."""
    if FLAGS.vocab_file:
        return FLAGS.vocab_file
    from keras_bert_repro.text import learn_vocabulary

    path = _path("vocab.txt")
    if os.path.isfile(path):
        _say(f"vocabulary: learnt before -> {path}")
        return path
    files = sorted(glob.glob(FLAGS.text_pattern))
    _say(f"vocabulary: learning {FLAGS.vocabulary_size} WordPieces from {len(files)} files")
    start = time.perf_counter()
    learn_vocabulary(files, FLAGS.vocabulary_size, output_path=path + ".tmp")
    os.replace(path + ".tmp", path)
    _log_time("vocabulary", start)
    return path


# === Pre-training ===
def pretraining_name(variant):
    size, objective, _ = VARIANTS[variant]
    return f"{size}_{objective}"


def pretrain(name, vocab_file):
    """Pre-trains one model with recipes/pretrain_tpu.py (which resumes a killed run);
    returns its folder."""
    size, objective = name.split("_", 1)
    out = _path("pretrain", name)
    if os.path.isfile(os.path.join(out, "preset", "config.json")):
        _say(f"pre-training {name}: done before -> {out}")
        return out
    steps = pretrain_steps()
    _say(f"pre-training {name}: {steps} steps of {FLAGS.pretrain_batch_size} x "
         f"{FLAGS.pretrain_sequence_length} -> {out}")
    command = [sys.executable, os.path.join(os.path.dirname(__file__), "pretrain_tpu.py"),
               f"--text_pattern={FLAGS.text_pattern}", f"--vocab_file={vocab_file}",
               f"--model_size={size}", f"--objective={objective}",
               f"--num_train_steps={steps}", f"--warmup_steps={max(1, steps // 10)}",
               f"--global_batch_size={FLAGS.pretrain_batch_size}",
               f"--max_seq_length={FLAGS.pretrain_sequence_length}",
               f"--learning_rate={FLAGS.pretrain_learning_rate}",
               f"--checkpoint_every={snapshot_every()}", f"--snapshot_every={snapshot_every()}",
               f"--seed={FLAGS.seed}", "--strategy=one_device", f"--output_dir={out}"]
    start = time.perf_counter()
    result = subprocess.run(command)
    if result.returncode:
        raise RuntimeError(f"pre-training {name} failed (exit {result.returncode}): "
                           f"{' '.join(command)}")
    _log_time(f"pre-training {name}", start)
    return out


def snapshots(pretrain_dir):
    """`[(step, preset folder)]` kept along a pre-training, by step."""
    found = glob.glob(os.path.join(pretrain_dir, "snapshots", "step-*"))
    return sorted((int(p.rsplit("-", 1)[1]), p) for p in found if not p.endswith(".tmp"))


# === Held-out accuracy along pre-training ===
def heldout(name, pretrain_dir, vocab_file):
    """Held-out MLM (LTR: next-token) loss and accuracy of every snapshot, one file each."""
    import keras

    import keras_bert_repro as kbr
    from keras_bert_repro.data import streaming_pretraining_dataset

    objective = name.split("_", 1)[1]
    batches = None
    for step, preset in snapshots(pretrain_dir):
        path = _path("heldout", name, f"step-{step}.json")
        if os.path.isfile(path):
            continue
        if batches is None:
            tokenizer = kbr.BertTokenizer(vocab_file)
            instances = streaming_pretraining_dataset(
                FLAGS.heldout_text, tokenizer, max_seq_length=FLAGS.pretrain_sequence_length,
                seed=1234, format="paragraphs", batch_size=FLAGS.pretrain_batch_size)
            preprocessor = kbr.BertPretrainingPreprocessor(
                tokenizer, sequence_length=FLAGS.pretrain_sequence_length, objective=objective,
                seed=1234)
            # Masked once (seeded), the same way for every snapshot; cached after the first.
            batches = preprocessor.dataset(instances).take(FLAGS.heldout_batches).cache()
        keras.backend.clear_session()
        start = time.perf_counter()
        model = kbr.BertPretrainer.from_preset(preset)
        logs = model.evaluate(batches, verbose=0, return_dict=True)
        result = {"variant": name, "objective": objective, "step": step,
                  "loss": float(logs.get("mlm_loss", logs["loss"])),
                  "accuracy": float(logs.get("mlm_accuracy", logs.get("accuracy")))}
        os.makedirs(os.path.dirname(path), exist_ok=True)
        common_flags.write_json(path, result)
        _log_time(f"held-out {name} step {step}", start)
        _say(f"held-out {name} step {step}: loss {result['loss']:.3f}, "
             f"accuracy {result['accuracy']:.4f}")


# === Fine-tuning ===
def _kept(count, n, seed=0):
    """Indices of a fixed random subset of `n` of `count` examples, in order (the same
    for every variant and seed)."""
    import numpy as np

    return np.sort(np.random.default_rng(seed).permutation(count)[:n])


def _subset(texts, labels, n):
    import numpy as np

    keep = _kept(len(labels), n)
    pick = lambda values: [values[i] for i in keep]  # noqa: E731
    texts = tuple(pick(t) for t in texts) if isinstance(texts, tuple) else pick(texts)
    return texts, np.asarray(labels)[keep]


def finetune_glue(preset, task_name, seed):
    import keras
    import numpy as np

    import keras_bert_repro as kbr
    from keras_bert_repro.data import get_task, read_glue
    from keras_bert_repro.evaluation import glue_metrics

    task = get_task(task_name)
    train = _subset(*read_glue(FLAGS.glue_dir, task, "train"), train_examples())
    dev = _subset(*read_glue(FLAGS.glue_dir, task, "dev"), FLAGS.max_eval_examples)
    keras.utils.set_random_seed(seed)
    model = kbr.BertClassifier.from_preset(preset, num_classes=task.num_classes,
                                           sequence_length=FLAGS.sequence_length)
    model.compile(optimizer=kbr.training.bert_adamw(FLAGS.learning_rate))
    history = model.fit(train[0], train[1], batch_size=FLAGS.batch_size, epochs=FLAGS.epochs,
                        seed=seed, verbose=0)
    logits = model.predict(dev[0], batch_size=128, verbose=0)
    predictions = logits[:, 0] if task.num_classes == 1 else np.argmax(logits, axis=-1)
    return {**glue_metrics(task, dev[1], predictions), "train_examples": len(train[1]),
            "dev_examples": len(dev[1]), "train_loss": float(history.history["loss"][-1])}


@functools.lru_cache(maxsize=1)
def _squad(path):
    from keras_bert_repro.data.squad import read_squad

    return read_squad(path)


def finetune_squad(preset, seed, bilstm_units=None):
    import keras

    from keras_bert_repro.data.squad import questions_and_contexts, split_by_article
    from keras_bert_repro.evaluation.squad_metrics import squad_metrics
    from keras_bert_repro.models.question_answerer import BertQuestionAnswerer
    from keras_bert_repro.training import bert_adamw

    train, evaluation = split_by_article(_squad(FLAGS.squad_file), 0.8, seed=0)
    train = [train[i] for i in _kept(len(train), train_examples())]
    evaluation = evaluation[:FLAGS.max_eval_examples]
    keras.utils.set_random_seed(seed)
    model = BertQuestionAnswerer.from_preset(
        preset, sequence_length=FLAGS.squad_sequence_length, doc_stride=64, max_query_length=32,
        bilstm_units=bilstm_units)
    model.compile(optimizer=bert_adamw(FLAGS.learning_rate))
    history = model.fit(questions_and_contexts(train), [e.training_answer for e in train],
                        batch_size=FLAGS.batch_size, epochs=FLAGS.epochs, seed=seed, verbose=0)
    answers = model.predict(questions_and_contexts(evaluation), batch_size=128, verbose=0)
    metrics = squad_metrics(evaluation, {e.id: a for e, a in zip(evaluation, answers)})
    return {**metrics, "train_examples": len(train), "dev_examples": len(evaluation),
            "train_loss": float(history.history["loss"][-1])}


def finetune(variant, task, seed, preset, path, label):
    """One fine-tuning run, written to `path` once done; skipped when it is there."""
    import keras

    if os.path.isfile(path):
        return False
    keras.backend.clear_session()
    start = time.perf_counter()
    if task == "squad":
        result = finetune_squad(preset, seed, BILSTM_UNITS if variant == "ltr_bilstm" else None)
    else:
        result = finetune_glue(preset, task, seed)
    result.update(variant=variant, task=task, seed=seed, preset=preset,
                  seconds=round(time.perf_counter() - start, 1))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    common_flags.write_json(path, result)
    _log_time(label, start)
    metric = TASK_METRIC[task]
    _say(f"{label}: {metric} {result[metric]:.4f} ({result['seconds']:.0f} s)")
    return True


def run():
    _check_flags()
    variants = [v for v in VARIANTS if v in FLAGS.variants]
    settings = {k: v for k, v in common_flags.recipe_flags().items() if k not in SELECTION_FLAGS}
    common_flags.claim_output_dir(FLAGS.output_dir, settings, "ablations.py")
    start = time.perf_counter()
    vocab_file = vocabulary()
    pretrain_dirs = {}
    for variant in variants:
        name = pretraining_name(variant)
        if name not in pretrain_dirs:
            pretrain_dirs[name] = pretrain(name, vocab_file)
            heldout(name, pretrain_dirs[name], vocab_file)
    runs = [(variant, task, seed) for variant in variants for task in FLAGS.tasks
            if task in (VARIANTS[variant][2] or TASKS)
            for seed in range(FLAGS.seed, FLAGS.seed + FLAGS.seeds)]
    done = 0
    for i, (variant, task, seed) in enumerate(runs, start=1):
        preset = os.path.join(pretrain_dirs[pretraining_name(variant)], "preset")
        path = _path("finetune", variant, task, f"seed-{seed}.json")
        label = f"[{i}/{len(runs)}] {variant} {task} seed {seed}"
        done += not finetune(variant, task, seed, preset, path, label)
    if done:
        _say(f"fine-tuning: {done} of {len(runs)} runs done before, not repeated")
    curve = [(variant, step, preset) for variant in CURVE_VARIANTS if variant in variants
             for step, preset in snapshots(pretrain_dirs[pretraining_name(variant)])]
    for i, (variant, step, preset) in enumerate(curve, start=1):
        path = _path("curve", variant, f"step-{step}.json")
        finetune(variant, FLAGS.curve_task, FLAGS.seed, preset, path,
                 f"[curve {i}/{len(curve)}] {variant} step {step} {FLAGS.curve_task}")
    written = ablation_report.write(FLAGS.output_dir, variants, FLAGS.tasks, TASK_METRIC,
                                    FLAGS.curve_task, describe_setup())
    _say(f"done in {time.perf_counter() - start:.0f} s: " + ", ".join(written))


def describe_setup():
    import keras

    return (f"Backend {keras.config.backend()}. "
            f"Pre-training from scratch: {pretrain_steps()} steps of "
            f"{FLAGS.pretrain_batch_size} x {FLAGS.pretrain_sequence_length}, peak learning rate "
            f"{FLAGS.pretrain_learning_rate:g} (warm-up 10%, linear decay), seed {FLAGS.seed}, "
            f"the same data order for every model; text {FLAGS.text_pattern}; vocabulary "
            + (FLAGS.vocab_file if FLAGS.vocab_file else
               f"learnt from it ({FLAGS.vocabulary_size} WordPieces)")
            + f". Fine-tuning: {train_examples()} training examples per task (a fixed random "
            f"subset; SQuAD: questions of 80% of the dev-v1.1 articles, windows of "
            f"{FLAGS.squad_sequence_length}), {FLAGS.epochs} epoch(s), batch {FLAGS.batch_size}, "
            f"peak learning rate {FLAGS.learning_rate:g}, seeds {FLAGS.seed}.."
            f"{FLAGS.seed + FLAGS.seeds - 1}; evaluated on up to {FLAGS.max_eval_examples} dev "
            f"examples (SQuAD: questions of the other 20% of articles). Held-out: "
            f"{FLAGS.heldout_batches} batches of WikiText-2 valid, masked once.")


def main(_):
    # Each fine-tuning run builds a new model: TF's retracing notes say nothing here.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    run()


if __name__ == "__main__":
    common_flags.run(main)
