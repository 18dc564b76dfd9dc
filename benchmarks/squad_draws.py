"""SQuAD v1.1 fine-tuning over several random draws per side, to tell a gap from noise.

A `finetune_quality --tasks=squad` row is one draw per side: span-head init, dropout
masks, batch order. This runs `--seeds` draws of each side on one article split and
reports every run, then each side's mean and standard deviation. Both sides train on
the same windows, made by HF's tokenizer (run_qa.py's, which `squad_crosscheck` shows
are ours' tokens and labels), and are scored by the same post-processing and the
official EM / F1, so the sides differ only in the model code, the training loop and
the draws. The recipe is finetune_quality's (batch 32, AdamW 5e-5, eps 1e-6, decay
0.01, warm-up 10% then linear decay, clipping 1.0, 384-token windows, stride 128).

Ours: `BertBackbone` from the preset, `BertQuestionAnswerer`'s span head (dense 2
over the sequence output, BERT's truncated-normal init) and loss (mean of the start
and end cross-entropies; given the class's weights, this model's logits and loss
are the class's exactly), `bert_adamw`, `keras.Model.fit` (its shuffling). HF:
`BertForQuestionAnswering` in finetune_quality's torch loop. Only torch, transformers
and keras are needed, not TensorFlow: where TF is missing (an accelerator machine),
the package's TF-free modules are imported on their own. Runs go to the GPU if torch
sees one. Each run is appended to `--out` (JSON lines) as it ends; a rerun skips the
runs already there, and `--budget_s` stops starting runs once it is spent.

    KBR_SHARED_DATA=../shared/data python -m benchmarks.squad_draws --seeds=0-4 \\
        --max_train=0 --epochs=2 --out=/tmp/draws.jsonl
"""

import argparse
import math
import os
import statistics
import time

import numpy as np

from benchmarks.common import float32_preset, import_without_tensorflow
from benchmarks.models import minilm_path
from benchmarks.results import append_record, read_records, rerun_command, write_section

def windows(args):
    """The split's training windows (arrays, starts, ends) and evaluation windows."""
    import transformers

    from benchmarks.finetune_quality import HF_NAMES, hf_squad_features, load_squad

    train, evaluation = load_squad(args)
    tokenizer = transformers.BertTokenizerFast.from_pretrained(args.preset)
    features, _, _, starts, ends = hf_squad_features(tokenizer, train, training=True)
    train_windows = ({k: np.asarray(features[k], np.int32) for k in HF_NAMES.values()},
                     np.stack([starts, ends], 1).astype(np.int32))
    features, samples, offsets, _, _ = hf_squad_features(tokenizer, evaluation, training=False)
    eval_windows = ({k: np.asarray(features[k], np.int32) for k in HF_NAMES.values()},
                    samples, offsets)
    return train, evaluation, train_windows, eval_windows


def run_hf(args, seed, train_windows, eval_inputs):
    """finetune_quality's HF loop; returns (train seconds, [n, 2, seq] logits)."""
    import torch
    import transformers

    from benchmarks.finetune_quality import hf_device, hf_squad_fit, hf_squad_logits

    torch.manual_seed(seed)
    model = transformers.BertForQuestionAnswering.from_pretrained(args.preset).to(hf_device())
    inputs = {k: torch.from_numpy(v).long().to(model.device)
              for k, v in train_windows[0].items()}
    positions = torch.from_numpy(train_windows[1]).long().to(model.device)
    start = time.perf_counter()
    hf_squad_fit(model, inputs, positions[:, 0], positions[:, 1],
                 argparse.Namespace(**{**vars(args), "seed": seed}))
    seconds = time.perf_counter() - start
    return seconds, hf_squad_logits(model, eval_inputs)


def run_ours(args, seed, train_windows, eval_inputs, head_init=None):
    """BertQuestionAnswerer's model and loss with `bert_adamw` through `fit`; returns
    (train seconds, [n, 2, seq] logits). `head_init`: the span head's initializer
    instead of BERT's truncated normal (the side `ours_normal_init`: HF's normal)."""
    import keras

    from keras_bert_repro.layers import bert_initializer
    # The backbone's own module, not `keras_bert_repro.BertBackbone`: the package's
    # `__init__` loads TF Text (see `import_without_tensorflow`).
    from keras_bert_repro.models.backbone import BertBackbone
    from benchmarks.finetune_quality import HF_NAMES
    from keras_bert_repro.training.optimizers import bert_adamw

    keras.utils.set_random_seed(seed)
    backbone = BertBackbone.from_preset(args.preset)
    # As BertQuestionAnswerer.__init__ and default_loss (which import TF Text).
    span = keras.layers.Dense(2, kernel_initializer=head_init or bert_initializer(),
                              dtype="float32", name="span_logits")
    logits = keras.layers.Permute((2, 1), dtype="float32", name="start_end_logits")(
        span(backbone(backbone.input)["sequence_output"]))
    model = keras.Model(backbone.input, logits)
    x, positions = train_windows
    x = {ours: x[hf] for ours, hf in HF_NAMES.items()}
    model.compile(optimizer=bert_adamw(args.learning_rate,
                                       total_steps=math.ceil(len(positions) / 32) * args.epochs),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    start = time.perf_counter()
    model.fit(x, positions, batch_size=32, epochs=args.epochs, shuffle=True, verbose=0)
    seconds = time.perf_counter() - start
    eval_x = {ours: eval_inputs[hf] for ours, hf in HF_NAMES.items()}
    return seconds, np.asarray(model.predict(eval_x, batch_size=64, verbose=0))


def run_ours_normal_init(args, seed, train_windows, eval_inputs):
    import keras

    return run_ours(args, seed, train_windows, eval_inputs,
                    head_init=keras.initializers.RandomNormal(stddev=0.02))


SIDES = {"hf": run_hf, "ours": run_ours, "ours_normal_init": run_ours_normal_init}


def device_name():
    import torch

    return torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"


def summary(runs):
    """Each side's mean and standard deviation, then each ours side against HF: the
    difference of the means and its standard error."""
    by_side = {side: sorted((r for r in runs if r["side"] == side), key=lambda r: r["seed"])
               for side in SIDES}
    by_side = {side: mine for side, mine in by_side.items() if mine}
    sd = (lambda v: statistics.stdev(v) if len(v) > 1 else float("nan"))
    lines = ["| side | runs | F1 mean | F1 sd | EM mean | EM sd | F1 of each run (seed order) |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for side, mine in by_side.items():
        f1 = [100 * r["f1"] for r in mine]
        em = [100 * r["exact_match"] for r in mine]
        lines.append(f"| {side} | {len(mine)} | {statistics.mean(f1):.1f} | {sd(f1):.1f} | "
                     f"{statistics.mean(em):.1f} | {sd(em):.1f} | "
                     + ", ".join(f"{v:.1f}" for v in f1) + " |")
    lines.append("")
    for side in (s for s in by_side if s != "hf" and "hf" in by_side):
        parts = []
        for metric, name in (("f1", "F1"), ("exact_match", "EM")):
            a, b = ([100 * r[metric] for r in by_side[k]] for k in (side, "hf"))
            error = math.sqrt(sd(a) ** 2 / len(a) + sd(b) ** 2 / len(b))
            parts.append(f"{name} {statistics.mean(a) - statistics.mean(b):+.1f} "
                         f"(standard error {error:.1f})")
        lines.append(f"- {side} - hf: " + ", ".join(parts))
    return "\n".join(lines)


def parse_seeds(text):
    if "-" in text:
        first, last = text.split("-")
        return list(range(int(first), int(last) + 1))
    return [int(s) for s in text.split(",")]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=parse_seeds, default=parse_seeds("0-2"),
                        help="Draws per side: '0-4' or '0,3,7'.")
    parser.add_argument("--sides", type=lambda s: s.split(","), default=["hf", "ours"],
                        help=f"Of {sorted(SIDES)}; ours_normal_init: ours with HF's "
                             "normal(0.02) span-head init.")
    parser.add_argument("--split_seed", type=int, default=0)
    parser.add_argument("--train_fraction", type=float, default=0.8)
    parser.add_argument("--max_train", type=int, default=0, help="Training questions; 0: all.")
    parser.add_argument("--max_eval", type=int, default=0, help="Eval questions; 0: all.")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--learning_rate", type=float, default=5e-5)
    parser.add_argument("--preset", default=None, help="An HF checkpoint directory.")
    parser.add_argument("--out", required=True, help="JSON lines, one per finished run.")
    parser.add_argument("--budget_s", type=float, default=float("inf"),
                        help="Start no run that would end past this many seconds.")
    parser.add_argument("--report", action="store_true",
                        help="Train nothing: write the runs in --out to RESULTS.md.")
    args = parser.parse_args()
    unknown = sorted(set(args.sides) - set(SIDES))
    if unknown:
        parser.error(f"unknown --sides {unknown}: choose from {sorted(SIDES)}")
    started = time.perf_counter()
    if args.preset is None:
        args.preset = minilm_path()
    if args.report:
        return report(args)
    import_without_tensorflow()
    os.environ.setdefault("KERAS_BACKEND", "torch")
    args.preset = float32_preset(args.preset)
    from benchmarks.finetune_quality import hf_squad_answers, squad_result

    train, evaluation, train_windows, (eval_inputs, samples, offsets) = windows(args)
    print(f"split {args.split_seed}: {len(train)} training questions ({len(train_windows[1])} "
          f"windows), {len(evaluation)} evaluation questions ({len(samples)} windows)",
          flush=True)
    runs = read_records(args.out)
    last = {}
    for seed in args.seeds:
        for side in args.sides:
            if any(r["side"] == side and r["seed"] == seed for r in runs):
                continue
            if time.perf_counter() - started + last.get(side, 0) > args.budget_s:
                print(f"budget spent: {side} seed {seed} not started", flush=True)
                continue
            begin = time.perf_counter()
            runner = SIDES[side]
            seconds, logits = runner(args, seed, train_windows, eval_inputs)
            answers = hf_squad_answers(evaluation, samples, offsets, logits[:, 0], logits[:, 1])
            result = {"side": side, "seed": seed, "split_seed": args.split_seed,
                      "device": device_name(),
                      "backend": "torch" if side == "hf" else os.environ["KERAS_BACKEND"],
                      **squad_result(evaluation, answers, len(train), len(train_windows[1]),
                                     seconds, args)}
            runs.append(result)
            append_record(args.out, result)
            last[side] = time.perf_counter() - begin
            print(f"{side} seed {seed}: F1 {100 * result['f1']:.1f} EM "
                  f"{100 * result['exact_match']:.1f}, train {seconds:.0f} s "
                  f"(run {last[side]:.0f} s)", flush=True)
    print(summary([r for r in runs if r["split_seed"] == args.split_seed]))


def report(args):
    """RESULTS.md's section from the runs of `--split_seed` in `--out`."""
    runs = [r for r in read_records(args.out) if r["split_seed"] == args.split_seed]
    if not runs:
        raise SystemExit(f"{args.out} holds no run of split {args.split_seed}.")
    first = runs[0]
    devices = sorted({r.get("device", "?") for r in runs})
    seconds = {side: statistics.mean(r["train_seconds"] for r in runs if r["side"] == side)
               for side in SIDES if any(r["side"] == side for r in runs)}
    body = (f"SQuAD v1.1, article split {args.split_seed} of dev-v1.1.json "
            f"({args.train_fraction:.0%} of the articles: "
            f"{first['train_size']} questions, {first['train_windows']} windows x "
            f"{args.epochs} epochs; evaluation on the other {first['eval_size']} questions), "
            "from the real MiniLM-L6 checkpoint, each run a fresh fine-tuning with its own "
            "seed (module docstring: same windows and scoring for both sides). Official "
            "F1 / EM in %.\n\n" + summary(runs) + "\n\nMean training seconds per run: "
            + ", ".join(f"{side} {v:.0f}" for side, v in seconds.items())
            + "; ours on Keras' " + "/".join(sorted({r["backend"] for r in runs
                                                    if r["side"] != "hf"})) + " backend.")
    write_section(f"Fine-tuning quality (squad, draws of split {args.split_seed})",
                  rerun_command("benchmarks.squad_draws"), body, where=", ".join(devices))
    print(body)


if __name__ == "__main__":
    main()
