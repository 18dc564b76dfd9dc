"""How many times one epoch of SST-2 compiles the train step (issue 18): `fit` on the
raw sentences with length buckets (`group_by_length`, `pad_to_multiple_of=16`,
sequence length 128, batch 32), counting the traces of `train_step` (each is one
compilation under XLA on JAX; on TensorFlow one `tf.function` trace, which XLA on a GPU
compiles once per shape) against the number of batches and of distinct batch shapes.
A tiny encoder: the count depends on the shapes, not on the model's size.

    python -m benchmarks.compilations [--backends jax,tensorflow] [--limit 0]
"""

import json

from benchmarks.common import each_backend, per_backend_parser, sst2
from benchmarks.results import add_row, rerun_command, table, write_section


def measure_backend(args):
    import keras

    import keras_bert_repro as kbr
    from benchmarks.models import minilm_path

    texts, labels = sst2("train")
    if args.limit:
        texts, labels = texts[:args.limit], labels[:args.limit]
    keras.utils.set_random_seed(0)
    preprocessor = kbr.BertPreprocessor.from_preset(minilm_path(), sequence_length=128,
                                                    pad_to_multiple_of=16)
    backbone = kbr.BertBackbone(vocabulary_size=30522, num_layers=1, num_heads=2,
                                hidden_dim=32, intermediate_dim=64, max_sequence_length=128)
    model = kbr.BertClassifier(backbone, num_classes=2, preprocessor=preprocessor)
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    traces, step = [], model.train_step

    def counting_step(*args_):
        traces.append(tuple(args_[-1][0]["token_ids"].shape))
        return step(*args_)

    model.train_step = counting_step
    history = model.fit(texts, labels, batch_size=args.batch, epochs=1, verbose=0)
    batches = -(-len(texts) // args.batch)
    print(json.dumps({"examples": len(texts), "batches": batches, "traces": len(traces),
                      "shapes": sorted({str(s) for s in traces}),
                      "loss": history.history["loss"][-1]}))


def main():
    parser = per_backend_parser()
    parser.set_defaults(backends=["jax", "tensorflow"])
    parser.add_argument("--limit", type=int, default=0, help="first N sentences (0: all)")
    args = parser.parse_args()
    if args.child:
        return measure_backend(args)
    rows = []
    for backend, r in each_backend("benchmarks.compilations", args, "batch", "limit"):
        add_row(rows, f"| {backend} | {r['examples']:,} | {r['batches']:,} | {r['traces']} | "
                      f"{', '.join(r['shapes'])} |")
    body = ("One epoch of SST-2's training sentences through `fit` on raw text, length "
            f"buckets of 16 tokens up to 128, batch {args.batch}; traces of the train step "
            "(compilations), against the batches of the epoch.\n\n"
            + table(("backend", "examples", "batches", "traces", "traced shapes"), rows))
    write_section("Compilations per epoch", rerun_command("benchmarks.compilations"), body)


if __name__ == "__main__":
    main()
