"""BERT-Base training steps on an accelerator, ours against HF transformers' best,
side by side in one run (issue 18).

    KERAS_BACKEND=torch python -m benchmarks.accelerator --out=accelerator.jsonl   # GPU
    python -m benchmarks.accelerator --report --out=accelerator.jsonl   # RESULTS.md
    KERAS_BACKEND=torch python -m benchmarks.accelerator --smoke        # every row, tiny, CPU

Runs where torch, transformers and safetensors are installed and TensorFlow is not
(Keras carried as a wheel): our side imports only the TF-free modules
(`common.import_without_tensorflow`). Random BERT-Base weights (L12/H768/A12,
vocabulary 30,522; speed does not depend on their values), random token ids.

Rows, each timed over `--steps` steps after `--warmup` (compilation) steps, with a
host sync per step on both sides (the loss is read):
- classifier fine-tuning step, batch 32 x 128, `mixed_bfloat16`: ours through
  `train_on_batch` (AdamW with clipping, Keras' torch backend) eager and with
  `jit_compile=True` (Keras' `torch.compile` of the step); HF
  `BertForSequenceClassification` with SDPA, bf16 autocast and fused AdamW, eager
  and `torch.compile`d.
- pre-training step (MLM on 20 gathered positions + NSP), batch `--pretrain_batch`
  x 128: ours (`MaskedLMHead` on the gathered positions) against HF
  `BertForPreTraining` (its MLM head runs on every position), same two modes.
Figures: sequences/s, the ratio to HF's best (its faster mode), TFLOP/s on the
matmul FLOPs each side executes (3x forward: weights, attention, heads), MFU
against the best bf16 matmul measured in the same process, and peak device memory.
"""

import argparse
import contextlib
import os
import sys
import time

from benchmarks.common import import_without_tensorflow
from benchmarks.results import append_record, read_records, table, write_section
from benchmarks.train_step import forward_flops

BASE = dict(vocabulary_size=30522, num_layers=12, num_heads=12, hidden_dim=768,
            intermediate_dim=3072, max_sequence_length=512)
TINY = dict(vocabulary_size=1000, num_layers=2, num_heads=2, hidden_dim=64,
            intermediate_dim=128, max_sequence_length=64)
PREDICTIONS = 20  # masked positions per sequence at length 128 (Google's recipe)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="accelerator.jsonl", help="JSON-lines records")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--pretrain_batch", type=int, default=256)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rows", default="classifier,pretraining")
    parser.add_argument("--modes", default="eager,compiled")
    parser.add_argument("--smoke", action="store_true",
                        help="every row at tiny shapes on the CPU (torch.compile a no-op), "
                             "for the test that keeps this script working")
    parser.add_argument("--report", action="store_true",
                        help="write RESULTS.md's section from the records in --out")
    args = parser.parse_args(argv)
    if args.smoke:
        args.batch, args.pretrain_batch, args.length, args.steps, args.warmup = 4, 4, 16, 2, 1
    return args


def device():
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def synchronize():
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def matmul_peak():
    """Best TFLOP/s of a bf16 matmul on the device (8192^2 on a GPU, 1024^2 on the CPU)."""
    import torch

    n = 8192 if device() == "cuda" else 1024
    a = torch.randn(n, n, device=device(), dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device(), dtype=torch.bfloat16)
    best = 0.0
    for _ in range(10):
        synchronize()
        start = time.perf_counter()
        a @ b
        synchronize()
        best = max(best, 2 * n ** 3 / (time.perf_counter() - start) / 1e12)
    return best


def pretraining_flops(config, batch, length, positions):
    """Forward matmul FLOPs of the encoder, the pooler + NSP and the MLM head on
    `positions` tokens per sequence (transform H x H, decoder H x V)."""
    hidden, vocab = config["hidden_dim"], config["vocabulary_size"]
    head = 2 * (hidden * hidden + hidden * vocab) * positions + 2 * hidden * 2
    return forward_flops(config, batch, length) + batch * head


def predictions(length):
    """Masked positions per sequence: 15% of the length, 20 at length 128."""
    return max(1, round(0.15 * length + 0.8))


def make_batch(config, batch, length, seed=0):
    """Random ids in two segments, no padding, masked positions and labels."""
    import numpy as np

    rng = np.random.default_rng(seed)
    vocab = config["vocabulary_size"]
    positions = np.sort(rng.permuted(np.tile(np.arange(1, length - 1), (batch, 1)), axis=1)
                        [:, :predictions(length)], axis=1).astype("int32")
    return {"token_ids": rng.integers(100, vocab, (batch, length)).astype("int32"),
            "segment_ids": np.tile(np.arange(length) >= length // 2, (batch, 1)).astype("int32"),
            "padding_mask": np.ones((batch, length), "int32"),
            "mask_positions": positions,
            "mlm_labels": rng.integers(100, vocab, positions.shape).astype("int32"),
            "labels": rng.integers(0, 2, batch).astype("int32")}


# === Our side: Keras' torch backend ===

def ours_model(task, config, batch):
    """Our classifier (`BertClassifier`'s graph: pooled [CLS], last block on [CLS] only)
    or pre-trainer (`BertPretrainer`'s: MLM on the gathered positions + NSP), built
    from the TF-free modules, under `mixed_bfloat16`."""
    import keras

    from keras_bert_repro.layers import bert_initializer
    from keras_bert_repro.layers.heads import MaskedLMHead
    from keras_bert_repro.models.backbone import BertBackbone

    backbone = BertBackbone(**config, dtype="mixed_bfloat16")
    dense = {"kernel_initializer": bert_initializer(), "dtype": "float32"}
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    if task == "classifier":
        logits = keras.layers.Dense(2, **dense)(
            keras.layers.Dropout(0.1)(backbone.pool(backbone.input)))
        return keras.Model(backbone.input, logits), loss
    inputs = {**backbone.input, "mask_positions": keras.Input((None,), dtype="int32")}
    features = backbone({k: v for k, v in inputs.items() if k != "mask_positions"})
    mlm = MaskedLMHead(backbone.get_layer("token_embedding"), dtype="mixed_bfloat16")(
        features["sequence_output"], mask_positions=inputs["mask_positions"])
    nsp = keras.layers.Dense(2, **dense)(features["pooled_output"])
    return keras.Model(inputs, {"mlm": mlm, "nsp": nsp}), {"mlm": loss, "nsp": loss}


def ours_step(task, config, data, compiled):
    """A zero-argument function running our training step (Keras `train_on_batch`)."""
    from keras_bert_repro.training.optimizers import bert_adamw

    model, loss = ours_model(task, config, len(data["labels"]))
    model.compile(optimizer=bert_adamw(1e-4, total_steps=10_000), loss=loss,
                  jit_compile=compiled)
    x = {k: data[k] for k in ("token_ids", "segment_ids", "padding_mask")}
    if task == "classifier":
        y = data["labels"]
    else:
        x["mask_positions"] = data["mask_positions"]
        y = {"mlm": data["mlm_labels"], "nsp": data["labels"]}
    return lambda: model.train_on_batch(x, y)


# === HF transformers' side ===

def hf_step(task, config, data, compiled):
    """A zero-argument function running HF's step: SDPA, bf16 autocast, fused AdamW
    on CUDA, global-norm clipping, optionally `torch.compile`d."""
    import torch
    import transformers

    hf_config = transformers.BertConfig(
        vocab_size=config["vocabulary_size"], hidden_size=config["hidden_dim"],
        num_hidden_layers=config["num_layers"], num_attention_heads=config["num_heads"],
        intermediate_size=config["intermediate_dim"],
        max_position_embeddings=config["max_sequence_length"], attn_implementation="sdpa",
        num_labels=2)
    cls = (transformers.BertForSequenceClassification if task == "classifier"
           else transformers.BertForPreTraining)
    model = cls(hf_config).to(device()).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01,
                                  fused=device() == "cuda")
    tensor = {k: torch.as_tensor(v).long().to(device()) for k, v in data.items()}
    kwargs = {"input_ids": tensor["token_ids"], "token_type_ids": tensor["segment_ids"],
              "attention_mask": tensor["padding_mask"]}
    if task == "classifier":
        kwargs["labels"] = tensor["labels"]
    else:
        labels = torch.full_like(tensor["token_ids"], -100)
        labels.scatter_(1, tensor["mask_positions"], tensor["mlm_labels"])
        kwargs.update(labels=labels, next_sentence_label=tensor["labels"])
    forward = torch.compile(model) if compiled else model

    def step():
        with torch.autocast(device(), dtype=torch.bfloat16):
            loss = forward(**kwargs).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()

    return step


# === Measuring ===

def measure(step, steps, warmup):
    """Seconds per step (median of `steps` after `warmup`) and peak device memory (MB)."""
    import statistics

    import torch

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        synchronize()
        start = time.perf_counter()
        step()
        synchronize()
        times.append(time.perf_counter() - start)
    memory = torch.cuda.max_memory_allocated() / 2 ** 20 if torch.cuda.is_available() else None
    return statistics.median(times), memory


def step_flops(task, side, config, batch, length):
    if task == "classifier":
        return 3 * forward_flops(config, batch, length, cls_only_last_block=side == "ours")
    positions = predictions(length) if side == "ours" else length
    return 3 * pretraining_flops(config, batch, length, positions)


@contextlib.contextmanager
def compile_as_identity():
    """`torch.compile` returning its function unchanged: the smoke run goes through
    every line of the compiled rows in seconds (compiling a tiny model takes a
    minute or more on a CPU); tests/test_compiled_steps.py checks compiled steps."""
    import torch

    original = torch.compile
    torch.compile = lambda fn=None, **kwargs: fn
    try:
        yield
    finally:
        torch.compile = original


def run(args):
    import gc

    import torch

    config = TINY if args.smoke else BASE
    peak = matmul_peak()
    name = torch.cuda.get_device_name() if device() == "cuda" else "CPU"
    print(f"{name}: bf16 matmul peak {peak:.1f} TFLOP/s", flush=True)
    stack = compile_as_identity() if args.smoke else contextlib.nullcontext()
    records = []
    with stack:
        for task in args.rows.split(","):
            batch = args.batch if task == "classifier" else args.pretrain_batch
            data = make_batch(config, batch, args.length)
            for side, build in (("ours", ours_step), ("hf", hf_step)):
                for mode in args.modes.split(","):
                    seconds, memory = measure(build(task, config, data, mode == "compiled"),
                                              args.steps, args.warmup)
                    flops = step_flops(task, side, config, batch, args.length)
                    record = {"benchmark": "accelerator", "device": name, "task": task,
                              "side": side, "mode": mode, "batch": batch,
                              "length": args.length, "smoke": args.smoke,
                              "seq_per_s": batch / seconds, "tflops": flops / seconds / 1e12,
                              "mfu": flops / seconds / 1e12 / peak, "peak_tflops": peak,
                              "memory_mb": memory}
                    print(f"{task} {side} {mode}: {record['seq_per_s']:.1f} seq/s, "
                          f"{record['tflops']:.1f} TFLOP/s ({100 * record['mfu']:.0f}% MFU), "
                          f"peak memory {memory or 0:.0f} MB", flush=True)
                    append_record(args.out, record)
                    records.append(record)
                    gc.collect()
                    if torch.cuda.is_available():
                        torch.cuda.empty_cache()
    return records


def report(records):
    """The RESULTS.md table: per task, each side and mode against HF's best mode."""
    rows = []
    for task in ("classifier", "pretraining"):
        mine = [r for r in records if r["task"] == task]
        if not mine:
            continue
        hf_best = max(r["seq_per_s"] for r in mine if r["side"] == "hf")
        for r in mine:
            memory = "" if r["memory_mb"] is None else f"{r['memory_mb'] / 1024:.1f}"
            rows.append(f"| {task} {r['batch']}x{r['length']} | "
                        f"{'keras_bert_repro' if r['side'] == 'ours' else 'HF transformers'} | "
                        f"{r['mode']} | {r['seq_per_s']:.0f} | {r['seq_per_s'] / hf_best:.2f}x | "
                        f"{r['tflops']:.0f} | {100 * r['mfu']:.0f}% | {memory} |")
    return table(("step", "side", "mode", "seq/s", "vs HF's best", "TFLOP/s", "MFU",
                  "peak GiB"), rows, text_columns=3)


def main(argv=None):
    args = parse_args(argv)
    if args.report:
        records = [r for r in read_records(args.out) if not r["smoke"]]
        if not records:
            raise SystemExit(f"{args.out} holds no accelerator record (smoke runs are left out).")
        body = (f"BERT-Base (L12/H768/A12) training steps in bf16 on {records[0]['device']}, "
                f"ours on Keras' torch backend against HF transformers (SDPA, autocast, fused "
                f"AdamW), eager and `torch.compile`d; MFU against the best bf16 matmul "
                f"measured in the same run ({records[0]['peak_tflops']:.0f} TFLOP/s), on the "
                f"FLOPs each side executes.\n\n" + report(records))
        write_section("Accelerator", f"python -m benchmarks.accelerator --report --out={args.out}",
                      body, where=records[0]["device"])
        return
    if os.environ.get("KERAS_BACKEND") != "torch":
        raise SystemExit("Run with KERAS_BACKEND=torch: this benchmark compares against "
                         "HF's PyTorch model on the same device.")
    import_without_tensorflow()
    run(args)


if __name__ == "__main__":
    sys.exit(main())
