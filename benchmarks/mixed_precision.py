"""What bf16 mixed precision costs in quality and gives in speed: SST-2 fine-tuning from
the real MiniLM-L6 checkpoint, float32 against `mixed_bfloat16`, same seed, same data.

    python -m benchmarks.mixed_precision [--backend torch --max_train 8000 --epochs 1]

Each run is `BertClassifier.from_preset(..., dtype=...)` then `fit` on raw text
(batch 32, the default recipe at lr 5e-5) and `predict` on SST-2 dev, in its own
process; examples/s over the whole fit (tokenization and compilation included).
bfloat16 pays on CPUs with AVX512_BF16/AMX and on accelerators.
"""

import argparse
import json
import time

from benchmarks.common import child_flags, run_child
from benchmarks.results import rerun_command, table, write_section


def child(args):
    import keras
    import numpy as np

    import keras_bert_repro as kbr
    from benchmarks.common import sst2
    from benchmarks.models import minilm_path

    texts, labels = sst2("train")
    if args.max_train:
        texts, labels = texts[:args.max_train], labels[:args.max_train]
    dev_texts, dev_labels = sst2("dev")
    keras.utils.set_random_seed(args.seed)
    model = kbr.BertClassifier.from_preset(minilm_path(), num_classes=2, sequence_length=128,
                                           dtype=args.dtype)
    model.compile(optimizer=kbr.training.bert_adamw(args.learning_rate))
    start = time.perf_counter()
    model.fit(texts, np.array(labels), batch_size=32, epochs=args.epochs, seed=args.seed,
              verbose=0)
    seconds = time.perf_counter() - start
    accuracy = float((model.predict(dev_texts, verbose=0).argmax(-1) == np.array(dev_labels)).mean())
    print(json.dumps({"accuracy": accuracy,
                      "examples_per_second": len(texts) * args.epochs / seconds}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--max_train", type=int, default=8000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--learning_rate", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", default=None)
    args = parser.parse_args()
    if args.dtype:
        return child(args)
    results = {}
    for dtype in ("float32", "mixed_bfloat16"):
        results[dtype] = run_child(
            "benchmarks.mixed_precision", args.backend, f"--dtype={dtype}",
            *child_flags(args, "max_train", "epochs", "learning_rate", "seed"))
        print(dtype, results[dtype], flush=True)
    fp32, bf16 = results["float32"], results["mixed_bfloat16"]
    rows = [f"| {dtype} | {100 * r['accuracy']:.1f} | {r['examples_per_second']:.1f} |"
            for dtype, r in results.items()]
    body = (f"SST-2 from MiniLM-L6 on the {args.backend} backend, "
            f"{args.max_train or 'all'} training sentences x {args.epochs} epoch(s), lr "
            f"{args.learning_rate:g}, seed {args.seed}; dev accuracy (872 sentences) and training "
            "examples/s of `fit` on raw text.\n\n"
            + table(("dtype", "SST-2 dev accuracy", "examples/s"), rows, text_columns=1) +
            f"\n\nbf16 - float32: {100 * (bf16['accuracy'] - fp32['accuracy']):+.1f} points, "
            f"{bf16['examples_per_second'] / fp32['examples_per_second']:.2f}x the speed.")
    write_section(f"Mixed precision ({args.backend})", rerun_command("benchmarks.mixed_precision"),
                  body)


if __name__ == "__main__":
    main()
