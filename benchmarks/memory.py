"""Peak memory of BERT-Base inference at batch 32 x 512, per backend, ours against keras-hub.

    python -m benchmarks.memory [--batch 32 --length 512]

Each (backend, model) runs in its own process: resident memory after importing the
framework, after building BERT-Base (L12/H768/A12, random weights: 110M parameters,
440 MB in float32), and the process's peak over one compiled forward pass. The
difference "built - imported" shows whether the weights are held once.
"""

import argparse
import json

from benchmarks.common import BACKENDS, child_flags, run_child
from benchmarks.results import add_row, rerun_command, table, write_section

BASE = dict(vocabulary_size=30522, num_layers=12, num_heads=12, hidden_dim=768,
            intermediate_dim=3072, max_sequence_length=512)


def rss_mb():
    """Resident memory now, after returning freed heap pages to the system (so
    temporaries of the build do not count as held)."""
    import ctypes
    import gc

    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def child(args):
    import numpy as np

    from benchmarks.common import peak_rss_mb
    from benchmarks.models import token_inputs

    # Import each library (and what it imports: TensorFlow, TF Text) before measuring.
    if args.side == "keras_bert_repro":
        import keras_bert_repro as kbr

        build = lambda: kbr.BertBackbone(**BASE)  # noqa: E731
    else:
        import keras_hub

        build = lambda: keras_hub.models.BertBackbone(  # noqa: E731
            vocabulary_size=BASE["vocabulary_size"], num_layers=12, num_heads=12,
            hidden_dim=768, intermediate_dim=3072, max_sequence_length=512)
    x = token_inputs(np.random.default_rng(0), args.batch, args.length)
    imported = rss_mb()
    model = build()
    built = rss_mb()
    model.predict_on_batch(x)
    print(json.dumps({"imported": imported, "built": built, "params": model.count_params(),
                      "peak": peak_rss_mb()}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--length", type=int, default=512)
    parser.add_argument("--side", choices=("keras_bert_repro", "keras-hub"), default=None)
    args = parser.parse_args()
    if args.side:
        return child(args)
    rows = []
    for backend in BACKENDS:
        for side in ("keras_bert_repro", "keras-hub"):
            r = run_child("benchmarks.memory", backend, "--side", side,
                          *child_flags(args, "batch", "length"))
            weights = r["params"] * 4 / 2 ** 20
            add_row(rows, f"| {backend} | {side} | {weights:.0f} | {r['built'] - r['imported']:.0f} "
                          f"| {r['peak']:.0f} |")
    body = (f"BERT-Base (L12/H768/A12, random weights), one `predict_on_batch` at batch "
            f"{args.batch} x length {args.length}, float32, each in its own process. "
            "\"Build\" is the resident memory the model added after the framework's import "
            "(one copy of the weights = the weights column); \"peak\" is the process's "
            "high-water mark, framework included.\n\n"
            + table(("backend", "model", "weights (MB)", "build adds (MB)", "peak RSS (MB)"), rows))
    write_section("Memory (BERT-Base forward)", rerun_command("benchmarks.memory"), body)


if __name__ == "__main__":
    main()
