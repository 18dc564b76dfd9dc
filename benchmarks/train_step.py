"""One training step at fixed shapes: ours against keras-hub (same backend) and HF
transformers (torch), with the achieved GFLOP/s and the fraction of a measured matmul peak.

    python -m benchmarks.train_step [--batch 32 --length 128 --repeats 5 --dtype float32]
    python -m benchmarks.train_step --dtype mixed_bfloat16 --backends jax

Each Keras backend runs in its own process. MiniLM-L6 shape from the real checkpoint;
a classifier (pooled output, dropout 0.1, dense) on each side; AdamW with global-norm
clipping; `train_on_batch` on token ids (no text), so this is the model's step alone.
HF: `BertForSequenceClassification`, `loss.backward()`, `clip_grad_norm_`, `AdamW.step()`.

FLOPs per step = 3x the forward matmul FLOPs (weights and attention, embeddings'
lookups excluded); the peak is the best of a few 2048x2048 float32 (or bfloat16)
matmuls on the same backend, in the same process, just before the models run.
"""

import json
import os
import time

from benchmarks.common import each_backend, per_backend_parser
from benchmarks.results import add_row, rerun_command, table, write_section


def forward_flops(config, batch, length, cls_only_last_block=False):
    """Matmul FLOPs of one forward pass over `batch x length` tokens (+ pooler, head).

    `cls_only_last_block`: the last block computes keys and values for every
    token but queries, attention output and feed-forward for `[CLS]` alone
    (`BertBackbone.pool`, what our classifier runs).
    """
    hidden, inner, layers = config["hidden_dim"], config["intermediate_dim"], config["num_layers"]
    per_token_layer = 2 * (4 * hidden * hidden + 2 * hidden * inner) + 4 * length * hidden
    tokens = length * layers * per_token_layer
    if cls_only_last_block:
        keys_values = length * 2 * (2 * hidden * hidden)
        tokens += keys_values + (per_token_layer - 2 * (2 * hidden * hidden)) - length * per_token_layer
    return batch * (tokens + 2 * hidden * hidden)


def matmul_peak(dtype):
    """Best GFLOP/s of a 2048^2 matmul through keras.ops on the current backend."""
    import keras
    import numpy as np

    n = 2048
    a = keras.ops.convert_to_tensor(np.random.rand(n, n).astype("float32"), dtype=dtype)
    b = keras.ops.convert_to_tensor(np.random.rand(n, n).astype("float32"), dtype=dtype)
    best = 0.0
    for _ in range(8):
        start = time.perf_counter()
        keras.ops.convert_to_numpy(keras.ops.matmul(a, b))
        best = max(best, 2 * n ** 3 / (time.perf_counter() - start) / 1e9)
    return best


def batch_inputs(batch, length, seed=0):
    """Random token inputs (`benchmarks.models.token_inputs`) and binary labels."""
    import numpy as np

    from benchmarks.models import token_inputs

    rng = np.random.default_rng(seed)
    x = token_inputs(rng, batch, length)
    return x, rng.integers(0, 2, size=(batch,)).astype("int32")


def build_steps(args, path):
    """{name: zero-argument function running one training step} for this backend."""
    import keras_hub

    import keras_bert_repro as kbr
    from benchmarks.models import compile_hub_classifier

    x, y = batch_inputs(args.batch, args.length)
    ours = kbr.BertClassifier(kbr.BertBackbone.from_preset(path, dtype=args.dtype), num_classes=2)
    ours.compile(optimizer=kbr.training.bert_adamw(3e-5, total_steps=10_000))
    hub_backbone = keras_hub.models.BertBackbone.from_preset(path, dtype=args.dtype)
    hub = compile_hub_classifier(
        keras_hub.models.BertTextClassifier(hub_backbone, num_classes=2, preprocessor=None))
    steps = {"keras_bert_repro": lambda: ours.train_on_batch(x, y),
             "keras-hub": lambda: hub.train_on_batch(x, y)}
    if os.environ["KERAS_BACKEND"] == "torch":
        steps["HF transformers (torch)"] = hf_train_step(args, path, x, y)
    return steps, ours.backbone.get_config()


def hf_train_step(args, path, x, y):
    """HF's training step on the same batch, as a zero-argument function."""
    import torch
    import transformers

    from benchmarks.models import hf_autocast, hf_step

    model = transformers.BertForSequenceClassification.from_pretrained(path, num_labels=2)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-5, weight_decay=0.01)
    ids = torch.tensor(x["token_ids"]).long()
    mask = torch.tensor(x["padding_mask"]).long()
    labels = torch.tensor(y).long()

    def step():
        with hf_autocast(args.dtype):
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        hf_step(model, loss, optimizer)

    return step


def measure_backend(args):
    """Runs in a child process with KERAS_BACKEND set; prints JSON."""
    from benchmarks.common import interleaved, peak_rss_mb
    from benchmarks.models import minilm_path

    path = minilm_path()
    peak = matmul_peak("bfloat16" if args.dtype == "mixed_bfloat16" else "float32")
    steps, config = build_steps(args, path)
    times = interleaved(steps, args.repeats)
    flops = {name: 3 * forward_flops(config, args.batch, args.length,
                                     cls_only_last_block=name == "keras_bert_repro")
             for name in times}
    print(json.dumps({"peak_gflops": peak, "peak_rss_mb": peak_rss_mb(),
                      "results": {name: {"seq_per_s": args.batch / t, "gflops": flops[name] / t / 1e9,
                                         "gflop_per_step": flops[name] / 1e9}
                                  for name, t in times.items()}}))


def main():
    parser = per_backend_parser()
    parser.add_argument("--dtype", default="float32", choices=("float32", "mixed_bfloat16"))
    args = parser.parse_args()
    if args.child:
        return measure_backend(args)
    rows = []
    for backend, result in each_backend("benchmarks.train_step", args,
                                        "batch", "length", "repeats", "dtype"):
        peak, hub = result["peak_gflops"], result["results"]["keras-hub"]["seq_per_s"]
        for name, r in result["results"].items():
            add_row(rows, f"| {backend} | {name} | {r['seq_per_s']:.1f} | "
                          f"{r['seq_per_s'] / hub:.2f}x | {r['gflop_per_step']:.0f} | "
                          f"{r['gflops']:.0f} | "
                          f"{100 * r['gflops'] / peak:.0f}% of {peak:.0f} |")
    body = (f"One training step (classifier, AdamW, clipping), MiniLM-L6 shape (L6/H384/A12) "
            f"from the real checkpoint, batch {args.batch} x length {args.length}, "
            f"{args.dtype}; sequences per second, median of {args.repeats} interleaved repeats; "
            "ratio against keras-hub on the same backend; GFLOP per step = 3x the forward "
            "matmul FLOPs each side executes (ours runs the last block on [CLS] only, "
            "`BertBackbone.pool`, so it does fewer: the seq/s ratio is the speed-up, the MFU "
            "is of the work done); MFU against the best 2048^2 matmul of the same backend and "
            "dtype measured in the same process.\n\n"
            + table(("backend", "model", "seq/s", "vs keras-hub", "GFLOP/step", "GFLOP/s", "MFU"),
                    rows))
    write_section(f"Training step ({args.dtype})", rerun_command("benchmarks.train_step"), body)


if __name__ == "__main__":
    main()
