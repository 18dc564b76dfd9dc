"""Pre-train BERT (masked LM + next-sentence prediction) from one CPU to a TPU pod.

    # TPU (TPUStrategy on TensorFlow; KERAS_BACKEND=jax uses the TPU devices as a mesh)
    python recipes/pretrain_tpu.py --tpu=my-tpu --input_pattern='gs://bucket/data/*.tfrecord' \
        --vocab_file=vocab.txt --model_size=base --global_batch_size=256 --num_train_steps=1000000
    # GPUs / CPUs
    python recipes/pretrain_tpu.py --strategy=mirrored --input_pattern='data/*.tfrecord' ...
    # no pre-processing: build NSP pairs from raw text inside tf.data
    python recipes/pretrain_tpu.py --text_pattern='wiki/*.txt' --vocab_file=vocab.txt ...

Instances come from `recipes/create_pretraining_data.py` (TFRecords, any `tf.io.gfile`
path) or, with `--text_pattern`, straight from raw text; masking is dynamic, in
`tf.data`. The original two-phase schedule is `--phase2_fraction=0.1`: the last 10%
of the steps at length 512 (from `--phase2_input_pattern`, records written at 512;
records longer than phase 1's length are an error). A checkpoint every
`--checkpoint_every` steps and at the last (any step count: no need to divide it); a rerun
with the same `--output_dir` resumes from the last checkpoint. At the end,
`<output_dir>/preset` holds a preset that every `from_preset` loads;
`--snapshot_every=N` also keeps one at every N steps in
`<output_dir>/snapshots/step-<N>` (for curves over pre-training, the paper's Figure 5).
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags, logging  # noqa: E402

import common_flags  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("tpu", None, "TPU name, grpc://host:port, or `local` (a TPU VM).")
flags.DEFINE_enum("strategy", "auto", ["auto", "one_device", "mirrored", "multi_worker", "tpu"],
                  "Distribution (multi_worker reads TF_CONFIG).")
flags.DEFINE_string("phase2_input_pattern", None, "TFRecords written at --phase2_seq_length for "
                    "phase 2, as the original made them (default: --input_pattern).")
flags.DEFINE_string("text_pattern", None, "Comma-separated globs of raw text (streaming mode).")
common_flags.define_pretraining_input_flags(
    input_pattern_help="Comma-separated globs of pre-training TFRecords.",
    vocab_file_help="vocab.txt for a model trained from scratch.",
    preset_help="Start from this preset's weights and vocabulary.",
    max_seq_length_help="Phase-1 sequence length.")
flags.DEFINE_enum("model_size", "base", ["tiny", "mini", "small", "medium", "base", "large"],
                  "Architecture when training from scratch (Tiny L2/H128 ... Large L24/H1024).")
flags.DEFINE_enum("objective", "mlm_nsp", ["mlm_nsp", "mlm", "ltr"],
                  "mlm_nsp: the paper; mlm: No NSP ablation; ltr: left-to-right LM, no NSP.")
flags.DEFINE_integer("global_batch_size", 256, "Sequences per step, over all replicas.",
                     lower_bound=1)
flags.DEFINE_integer("max_predictions_per_seq", 20, "Masked positions per sequence (phase 1).",
                     lower_bound=1)
flags.DEFINE_float("mask_selection_rate", 0.15, "Share of tokens chosen for prediction.",
                   lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_bool("whole_word_masking", False, "Mask all pieces of a word together.")
flags.DEFINE_integer("num_train_steps", 1_000_000, "Optimizer steps in all.", lower_bound=1)
flags.DEFINE_integer("warmup_steps", 10_000, "Linear warm-up steps (capped at 10% of the run).",
                     lower_bound=0)
common_flags.define_learning_rate_flag(1e-4, "Peak learning rate.")
flags.DEFINE_enum("optimizer", "adamw", ["adamw", "lamb"], "LAMB for very large batches.")
flags.DEFINE_integer("gradient_accumulation_steps", 1, "Micro-batches per optimizer update.",
                     lower_bound=1)
flags.DEFINE_float("phase2_fraction", 0.0, "Share of steps at --phase2_seq_length (paper: 0.1).",
                   lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_integer("phase2_seq_length", 512, "Phase-2 sequence length.",
                     lower_bound=common_flags.MIN_LENGTH)
flags.DEFINE_integer("phase2_max_predictions_per_seq", 80,
                     "Masked positions per sequence (phase 2).", lower_bound=1)
flags.DEFINE_bool("mixed_precision", False, "bfloat16 compute, float32 weights and losses.")
flags.DEFINE_integer("steps_per_execution", 1, "Steps per compiled call (TPUs: 100s).",
                     lower_bound=1)
flags.DEFINE_enum("jit_compile", "auto", ["auto", "true", "false"], "XLA.")
flags.DEFINE_float("dropout", 0.1, "Dropout of the encoder.", lower_bound=0.0, upper_bound=0.99)
flags.DEFINE_integer("checkpoint_every", None, "Steps between checkpoints (and log lines); "
                     "default 1000, or every step count below that. The last step (and the "
                     "end of phase 1) gets one too, multiple or not.", lower_bound=1)
flags.DEFINE_integer("snapshot_every", None, "Also keep a preset at every multiple of this many "
                     "steps in <output_dir>/snapshots/step-<N> (a multiple of "
                     "--checkpoint_every).", lower_bound=1)
flags.DEFINE_enum("export_format", "own", ["own", "hf", "keras_hub", "google"],
                  "Also write the trained model as this layout's checkpoint in "
                  "<output_dir>/preset_<format>: HF BertForPreTraining/BertForMaskedLM, "
                  "keras-hub BertBackbone, or Google's TF1 checkpoint; checked before training.")
flags.DEFINE_enum("activation", None, ["gelu", "gelu_approximate"],
                  "GELU of the encoder: exact, or the tanh form (Google's, the default from "
                  "scratch), which --export_format=keras_hub|google needs. With --preset: "
                  "the preset's unless given.")
common_flags.define_output_flags("runs/pretrain", "Checkpoints, logs and the final preset.")
common_flags.define_seed_flag(help="Seed of initialisation, data order and masks.")
common_flags.define_overwrite_flag()
flags.adopt_module_key_flags(common_flags)


UsageError = common_flags.UsageError


def _vocabulary():
    from keras_bert_repro.presets import resolve_preset, vocabulary_file

    if FLAGS.vocab_file:
        if not os.path.isfile(FLAGS.vocab_file):
            raise UsageError(f"--vocab_file {FLAGS.vocab_file} does not exist")
        return FLAGS.vocab_file
    if FLAGS.preset:
        return vocabulary_file(resolve_preset(FLAGS.preset))
    raise UsageError("give --vocab_file (training from scratch) or --preset")


def _backbone(vocabulary_size):
    import keras_bert_repro as kbr
    from keras_bert_repro.presets.registry import get_preset

    activation = {"activation": FLAGS.activation} if FLAGS.activation else {}
    if FLAGS.preset:
        return kbr.BertBackbone.from_preset(FLAGS.preset, dropout=FLAGS.dropout, **activation)
    name = {"base": "bert_base_en_uncased", "large": "bert_large_en_uncased"}.get(
        FLAGS.model_size, f"bert_{FLAGS.model_size}_en_uncased")
    config = dict(get_preset(name).config, vocabulary_size=vocabulary_size, dropout=FLAGS.dropout,
                  **activation)
    return kbr.BertBackbone(**config)


# Flags that change what is trained; a resume must keep them (the rest: how it runs).
RUN_FLAGS = ("preset", "model_size", "objective", "activation", "dropout", "global_batch_size",
             "max_seq_length", "max_predictions_per_seq", "mask_selection_rate",
             "whole_word_masking", "num_train_steps", "warmup_steps", "learning_rate",
             "optimizer", "gradient_accumulation_steps", "phase2_fraction",
             "phase2_seq_length", "phase2_max_predictions_per_seq", "checkpoint_every",
             "mixed_precision", "seed", "input_pattern", "phase2_input_pattern",
             "text_pattern")


def _run_settings(vocab_file):
    """What `<output_dir>/run.json` records: the training flags, the vocabulary's and
    the input files' fingerprints."""
    import glob

    patterns = [p for flag in ("input_pattern", "phase2_input_pattern", "text_pattern")
                for p in (getattr(FLAGS, flag) or "").split(",") if p]
    files = [f for p in patterns for f in glob.glob(p)]  # gs:// patterns: flags only
    return {**{flag: getattr(FLAGS, flag) for flag in RUN_FLAGS},
            "vocabulary_sha256": common_flags.vocabulary_fingerprint(vocab_file),
            "data_fingerprint": common_flags.file_fingerprint(files)}


def _phases():
    """[(sequence_length, max_predictions, first_step, last_step)] of the run."""
    total = FLAGS.num_train_steps
    phase2 = int(round(total * FLAGS.phase2_fraction))
    phases = [(FLAGS.max_seq_length, FLAGS.max_predictions_per_seq, 0, total - phase2)]
    if phase2:
        phases.append((FLAGS.phase2_seq_length, FLAGS.phase2_max_predictions_per_seq,
                       total - phase2, total))
    return phases


def _segments(start, end, every):
    """`(first_step, steps_per_epoch, epochs)` of the `fit` calls that take a phase from
    step `start` to `end` with a checkpoint at every multiple of `every` and at `end`
    (which need not be one): a short first epoch up to the next multiple, whole
    epochs of `every`, a short last one."""
    head = min(-start % every, end - start)
    body = (end - start - head) // every
    tail = end - start - head - body * every
    segments = []
    for steps, epochs in ((head, 1), (every, body), (tail, 1)):
        if steps and epochs:
            segments.append((start, steps, epochs))
            start += steps * epochs
    return segments


def _data_seed(step):
    """The data seed of a `fit` starting at `step`: a resumed run or a new segment gets
    fresh data order and masks (at multiples of --checkpoint_every: seed + step/every,
    as before uneven step counts were allowed)."""
    every = FLAGS.checkpoint_every
    return FLAGS.seed + step // every + (step % every) * 1_000_003


def _dataset(tokenizer, sequence_length, max_predictions, batch_size, seed, phase):
    """Masked batches (x, y, sample_weight) of `batch_size`, repeated forever."""
    import keras_bert_repro as kbr
    from keras_bert_repro.data import pretraining_dataset, streaming_pretraining_dataset

    # Both sources make whole batches (ragged), faster than batching single instances;
    # `repeat` loops over the files, the streaming one with new pairs on each pass.
    batching = dict(batch_size=batch_size, drop_remainder=True, repeat=True, seed=seed)
    if FLAGS.text_pattern:
        batches = streaming_pretraining_dataset(
            FLAGS.text_pattern.split(","), tokenizer, max_seq_length=sequence_length, **batching)
    else:
        pattern = FLAGS.phase2_input_pattern if phase == 2 and FLAGS.phase2_input_pattern \
            else FLAGS.input_pattern
        batches = pretraining_dataset(pattern.split(","), shuffle=True, **batching)
    preprocessor = kbr.BertPretrainingPreprocessor(
        tokenizer, sequence_length=sequence_length, max_predictions_per_seq=max_predictions,
        mask_selection_rate=FLAGS.mask_selection_rate,
        whole_word_masking=FLAGS.whole_word_masking, objective=FLAGS.objective, seed=seed)
    return preprocessor.dataset(batches)


def _optimizer():
    from keras_bert_repro.training import WarmupLinearDecay, bert_adamw, bert_lamb

    warmup = min(FLAGS.warmup_steps, FLAGS.num_train_steps // 10)
    schedule = WarmupLinearDecay(FLAGS.learning_rate, total_steps=FLAGS.num_train_steps,
                                 warmup_steps=warmup)
    make = bert_lamb if FLAGS.optimizer == "lamb" else bert_adamw
    # Keras takes None (not 1) for "no accumulation".
    accumulation = FLAGS.gradient_accumulation_steps if FLAGS.gradient_accumulation_steps > 1 \
        else None
    return make(schedule, gradient_accumulation_steps=accumulation)


def _tensorboard(length):
    import keras

    try:
        import tensorboard  # noqa: F401  (tf.summary needs it; TF no longer depends on it)
    except ImportError:
        return []
    return [keras.callbacks.TensorBoard(os.path.join(FLAGS.output_dir, "logs", f"len{length}"))]


def _check_flags():
    if bool(FLAGS.input_pattern) == bool(FLAGS.text_pattern):
        raise UsageError("give exactly one of --input_pattern (TFRecords) and --text_pattern")
    if FLAGS.input_pattern:
        import tensorflow as tf

        for flag in ("input_pattern", "phase2_input_pattern"):
            for pattern in (getattr(FLAGS, flag) or "").split(",") if getattr(FLAGS, flag) else []:
                if not tf.io.gfile.glob(pattern):
                    raise UsageError(f"--{flag} {pattern!r} matches no file")
    if FLAGS.checkpoint_every is None:
        FLAGS.checkpoint_every = min(1000, FLAGS.num_train_steps)
    if FLAGS.snapshot_every and FLAGS.snapshot_every % FLAGS.checkpoint_every:
        raise UsageError(f"--snapshot_every={FLAGS.snapshot_every} is not a multiple of "
                         f"--checkpoint_every={FLAGS.checkpoint_every}: snapshots are taken at "
                         "checkpoints")


def _snapshots(model, vocab_file, write):
    """A callback that keeps a preset at every --snapshot_every steps (written whole,
    then renamed: a kill leaves the snapshot complete or absent)."""
    import keras

    from keras_bert_repro.training import optimizer_step

    def on_epoch_end(epoch, logs):
        step = optimizer_step(model)
        if write and FLAGS.snapshot_every and step % FLAGS.snapshot_every == 0:
            model.save_to_preset(os.path.join(FLAGS.output_dir, "snapshots", f"step-{step}"),
                                 vocabulary=vocab_file)

    return keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)


class _History:
    """`<output_dir>/history.json`: one entry per checkpoint (step, sequence length,
    the epoch's mean losses and accuracies), rewritten at each, kept across resumes."""

    def __init__(self, path, resume_step):
        self.path = path
        self.entries = []
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                self.entries = [e for e in json.load(f)["history"] if e["step"] <= resume_step]

    def callback(self, model, length, write):
        import keras

        from keras_bert_repro.training import optimizer_step

        def on_epoch_end(epoch, logs):
            self.entries.append({"step": optimizer_step(model), "sequence_length": length,
                                 **{k: float(v) for k, v in (logs or {}).items()}})
            if write:
                self.write()

        return keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)

    def write(self, **extra):
        flags_of_recipe = {f.name: f.value for f in FLAGS.get_key_flags_for_module(sys.argv[0])}
        with open(self.path + ".tmp", "w", encoding="utf-8") as f:
            json.dump({"history": self.entries, **extra, "flags": flags_of_recipe}, f,
                      indent=2, default=str)
        os.replace(self.path + ".tmp", self.path)


def run():
    _check_flags()
    import keras

    import keras_bert_repro as kbr
    from keras_bert_repro.training import (
        DistributionError, StepCheckpoint, reseed, select_distribution)

    try:
        distribution = select_distribution(FLAGS.strategy, FLAGS.tpu)
    except DistributionError as error:
        raise UsageError(str(error)) from None
    keras.utils.set_random_seed(FLAGS.seed)
    if FLAGS.mixed_precision:
        keras.config.set_dtype_policy("mixed_bfloat16")
    vocab_file = _vocabulary()
    tokenizer = kbr.BertTokenizer(vocab_file)
    for pattern in (FLAGS.input_pattern, FLAGS.phase2_input_pattern):
        if pattern:
            try:
                kbr.data.check_pretraining_vocabulary(pattern.split(","), tokenizer)
            except ValueError as error:
                raise UsageError(str(error)) from None
    if distribution.is_chief:
        common_flags.claim_output_dir(FLAGS.output_dir, _run_settings(vocab_file),
                                      "pretrain_tpu.py")
    checkpoint_dir = os.path.join(FLAGS.output_dir, "checkpoints")
    if not distribution.is_chief:  # workers write their copy elsewhere; only the chief's counts
        checkpoint_dir = os.path.join(FLAGS.output_dir, f"worker_{distribution.worker_index}")
    checkpoint = StepCheckpoint(checkpoint_dir, is_chief=True)
    # Variables, the optimizer's too, are made (and restored) under the strategy's scope.
    with distribution.scope():
        backbone = _backbone(len(tokenizer.vocabulary))
        model = kbr.BertPretrainer(backbone, objective=FLAGS.objective)
        model.compile(optimizer=distribution.prepare_optimizer(_optimizer()),
                      steps_per_execution=FLAGS.steps_per_execution,
                      jit_compile=common_flags.jit_compile())
        lengths = [FLAGS.max_seq_length] + ([FLAGS.phase2_seq_length]
                                            if FLAGS.phase2_fraction else [])
        if max(lengths) > backbone.max_sequence_length:
            raise UsageError(f"sequence length {max(lengths)} exceeds the model's position "
                             f"table ({backbone.max_sequence_length}); lower --max_seq_length"
                             + (" or --phase2_seq_length" if FLAGS.phase2_fraction else ""))
        step = checkpoint.restore(model)
    try:
        kbr.models.check_savable(model, FLAGS.export_format, vocabulary=vocab_file)
    except ValueError as error:  # before training, not after
        hint = (" (--activation=gelu_approximate trains the tanh form)"
                if "tanh approximation" in str(error) else "")
        raise UsageError(f"--export_format={FLAGS.export_format}: {error}{hint}") from None
    every = FLAGS.checkpoint_every
    params = backbone.count_params()
    print(f"{distribution.description}; {FLAGS.model_size if not FLAGS.preset else FLAGS.preset} "
          f"({params / 1e6:.1f}M parameters), objective {FLAGS.objective}, global batch "
          f"{FLAGS.global_batch_size}, {FLAGS.num_train_steps} steps"
          + (f"; resuming at step {step}" if step else ""), flush=True)
    os.makedirs(FLAGS.output_dir, exist_ok=True)
    history = _History(os.path.join(FLAGS.output_dir, "history.json"), step)
    start, first_step = time.perf_counter(), step
    for phase, (length, predictions, first, last) in enumerate(_phases(), start=1):
        if step >= last:
            continue
        print(f"phase: length {length}, steps {max(first, step)}..{last}", flush=True)
        # History before checkpoint: a kill between them leaves no checkpoint without
        # its history line (lines past the checkpoint are dropped on resume).
        callbacks = [history.callback(model, length, distribution.is_chief),
                     _snapshots(model, vocab_file, distribution.is_chief),
                     checkpoint.callback()] + _tensorboard(length)
        one_epoch = keras.callbacks.LambdaCallback(  # after the checkpoint: the fit ends
            on_epoch_end=lambda epoch, logs: setattr(model, "stop_training", True))
        for segment_start, steps_per_epoch, epochs in _segments(max(first, step), last, every):
            for epoch in range(epochs):
                # One fit per checkpoint interval, its data order, masks and dropout
                # from its own seed: a run resumed at a checkpoint goes on exactly as
                # one never stopped (a checkpoint holds no random state). Keras splits
                # each batch over the replicas (tf.distribute, JAX data parallel), so
                # the dataset holds global batches.
                interval_start = segment_start + epoch * steps_per_epoch
                seed = _data_seed(interval_start)
                reseed(model, seed)
                dataset = _dataset(tokenizer, length, predictions, FLAGS.global_batch_size,
                                   seed, phase)
                # Epochs numbered as checkpoint intervals of the run (Epoch 3/4: steps
                # 10-15); the fit stops after this one.
                interval = interval_start // every
                model.fit(dataset, epochs=interval + epochs - epoch, initial_epoch=interval,
                          steps_per_epoch=steps_per_epoch, shuffle=False,
                          callbacks=[*callbacks, one_epoch],
                          verbose=1 if sys.stdout.isatty() else 2)
        step = last
    seconds = time.perf_counter() - start
    steps_per_second = (step - first_step) / seconds if step > first_step else 0.0
    if distribution.is_chief:
        preset_dir = os.path.join(FLAGS.output_dir, "preset")
        model.save_to_preset(preset_dir, vocabulary=vocab_file)
        if FLAGS.export_format != "own":
            preset_dir = os.path.join(FLAGS.output_dir, f"preset_{FLAGS.export_format}")
            model.save_to_preset(preset_dir, vocabulary=vocab_file, format=FLAGS.export_format,
                                 overwrite=True)
        history.write(seconds=round(seconds, 1), steps_per_second=round(steps_per_second, 3))
        last_logs = history.entries[-1] if history.entries else {}
        metrics = ", ".join(f"{k} {last_logs[k]:.4f}" for k in
                            ("loss", "mlm_accuracy", "nsp_accuracy") if k in last_logs)
        print(f"done: step {step} in {seconds:.0f}s ({steps_per_second:.2f} steps/s)"
              + (f"; {metrics}" if metrics else "") + f"; preset -> {preset_dir}", flush=True)


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # absl's default (INFO) prints JAX's device probing
    run()


if __name__ == "__main__":
    common_flags.run(main)
