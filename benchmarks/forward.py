"""Backbone forward throughput: ours against keras-hub (same backend) and HF transformers.

    python -m benchmarks.forward [--batch 32 --length 128 --repeats 5 --backends jax,torch]

Each Keras backend runs in its own process (Keras fixes the backend at import);
MiniLM-L6 shape from the real checkpoint, fixed shapes, compiled `predict_on_batch`
for both Keras models, `torch.inference_mode` for HF (its default SDPA attention).
"""

import json
import os

from benchmarks.common import each_backend, per_backend_parser
from benchmarks.results import add_row, rerun_command, table, write_section


def measure_backend(args):
    """Runs in a child process with KERAS_BACKEND set; prints JSON."""
    import keras_hub
    import numpy as np

    import keras_bert_repro as kbr
    from benchmarks.common import interleaved
    from benchmarks.models import minilm_path, token_inputs

    path = minilm_path()
    x = token_inputs(np.random.default_rng(0), args.batch, args.length)
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
    args = per_backend_parser().parse_args()
    if args.child:
        return measure_backend(args)
    rows = []
    for backend, result in each_backend("benchmarks.forward", args, "batch", "length", "repeats"):
        hub = result["keras-hub"]
        for name, seq_per_s in result.items():
            add_row(rows, f"| {backend} | {name} | {seq_per_s:.1f} | {seq_per_s / hub:.2f}x |")
    body = (f"MiniLM-L6 shape (L6/H384/A12) from the real checkpoint, batch {args.batch} x "
            f"length {args.length}, sequences per second, median of {args.repeats} interleaved "
            "repeats; ratio against keras-hub on the same backend.\n\n"
            + table(("backend", "model", "seq/s", "vs keras-hub"), rows))
    write_section("Backbone forward", rerun_command("benchmarks.forward"), body)


if __name__ == "__main__":
    main()
