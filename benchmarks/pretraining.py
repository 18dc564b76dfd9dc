"""Pre-training a BERT-Tiny from scratch: our BertPretrainer (MLM + NSP) against
keras-hub's BertMaskedLM, same shape, data, steps and optimizer, one run.

    KERAS_BACKEND=tensorflow python -m benchmarks.pretraining [--steps 300 --batch 32]

BERT-Tiny (L2/H128/A2, intermediate 512), sequences of 128, the bert-base-uncased
vocabulary. Training text: the Wikipedia sample. Ours reads next-sentence
instances made by `create_pretraining_data` and masked by
`BertPretrainingPreprocessor`; keras-hub's `BertMaskedLMPreprocessor` packs and
masks pairs of consecutive paragraphs of the same text (it has no NSP), or, with
`--keras_hub_data=instances`, takes ours' very batches (the same sequences and
masks; it ignores the NSP labels). Both:
15% of tokens predicted (80/10/10), at most 20 per sequence; `bert_adamw` at
peak `--lr`, warm-up over `--warmup` of the steps then linear decay to 0,
dropout 0.1; the two models take steps in turn (`train_on_batch`), so machine
load hits both alike. Held-out: WikiText-2 validation made into instances the
same way and masked once with a fixed seed; both models predict exactly those
batches (MLM accuracy over masked positions; NSP accuracy for ours).
"""

import argparse
import itertools
import os
import re
import shutil
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.common import data_path, wikipedia_lines  # noqa: E402
from benchmarks.results import add_row, table, write_section  # noqa: E402

LENGTH = 128
PREDICTIONS = 20
LOG_EVERY = 50
TINY = dict(vocabulary_size=30522, num_layers=2, num_heads=2, hidden_dim=128,
            intermediate_dim=512, max_sequence_length=512, dropout=0.1)


def wikitext_as_wikiextractor(path, out_path):
    """WikiText-2 (` = Title = ` articles, PTB-tokenized paragraphs) -> WikiExtractor
    format, so `create_pretraining_data` reads it as the training text: section
    headings dropped, ` @-@ `-style escapes undone, `<unk>` words removed."""
    docs, paragraphs, title = [], [], None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            heading = re.fullmatch(r"(=+) (.*) \1", line)
            if heading and len(heading.group(1)) == 1:
                if title is not None and paragraphs:
                    docs.append((title, paragraphs))
                title, paragraphs = heading.group(2), []
            elif line and not heading:
                line = re.sub(r" @(.)@ ", r"\1", line).replace(" <unk>", "")
                paragraphs.append(line)
    if title is not None and paragraphs:
        docs.append((title, paragraphs))
    with open(out_path, "w", encoding="utf-8") as f:
        for i, (title, paragraphs) in enumerate(docs):
            f.write(f'<doc id="{i}" url="" title="{title}">\n{title}\n')
            f.write("\n".join(paragraphs) + "\n</doc>\n")
    return len(docs)


def optimizer(args):
    from keras_bert_repro.training import bert_adamw

    return bert_adamw(args.lr, total_steps=args.steps, warmup_fraction=args.warmup)


def our_model(args):
    import keras

    import keras_bert_repro as kbr
    from keras_bert_repro.models.pretrainer import BertPretrainer

    keras.utils.set_random_seed(args.seed)
    model = BertPretrainer(kbr.BertBackbone(**TINY), objective=args.objective)
    model.compile(optimizer=optimizer(args))
    return model


def hub_model(args):
    import keras
    import keras_hub

    keras.utils.set_random_seed(args.seed)
    model = keras_hub.models.BertMaskedLM(keras_hub.models.BertBackbone(**TINY),
                                          preprocessor=None)
    model.compile(optimizer=optimizer(args))  # keras-hub's default loss and metrics
    return model


def training_data(args, tokenizer, workdir):
    """(ours, keras-hub): endless numpy iterators of `(x, y, sample_weight)` batches;
    with `keras_hub_data="instances"` keras-hub's are ours' batches, MLM part only."""
    import keras_hub

    from keras_bert_repro.data.pretraining import create_pretraining_data, pretraining_dataset
    from keras_bert_repro.text.pretraining_preprocessor import BertPretrainingPreprocessor

    shards = os.path.join(workdir, "train")
    stats = create_pretraining_data(os.path.join(data_path("wikipedia-sample"), "*"), shards,
                                    tokenizer, max_seq_length=LENGTH,
                                    dupe_factor=args.dupe_factor,
                                    seed=args.seed, num_workers=1, progress=False)
    masker = BertPretrainingPreprocessor(tokenizer, sequence_length=LENGTH,
                                         max_predictions_per_seq=PREDICTIONS,
                                         objective=args.objective, seed=args.seed)
    ours = masker.dataset(pretraining_dataset(
        os.path.join(shards, "*.tfrecord"), batch_size=args.batch, repeat=True,
        seed=args.seed, drop_remainder=True))
    if args.keras_hub_data == "instances":
        ours, theirs = itertools.tee(ours.as_numpy_iterator())  # one batch, two models
        theirs = ((x, y["mlm"], w["mlm"]) for x, y, w in theirs)
        return ours, theirs, stats.instances, None
    hub = keras_hub.models.BertMaskedLMPreprocessor(
        keras_hub.models.BertTokenizer(vocabulary=args.vocab, lowercase=True),
        sequence_length=LENGTH, mask_selection_length=PREDICTIONS)
    lines = wikipedia_lines()
    pairs = tf.data.Dataset.from_tensor_slices((lines[:-1], lines[1:]))
    # x=(a, b): a positional tuple would be taken as one segment.
    theirs = pairs.shuffle(len(lines), seed=args.seed).repeat().batch(
        args.batch, drop_remainder=True).map(lambda a, b: hub(x=(a, b)),
                                             num_parallel_calls=tf.data.AUTOTUNE)
    return (ours.as_numpy_iterator(), theirs.prefetch(tf.data.AUTOTUNE).as_numpy_iterator(),
            stats.instances, len(lines) - 1)


def held_out_batches(args, tokenizer, workdir):
    """WikiText-2 validation as masked instance batches (fixed masks), as numpy."""
    from keras_bert_repro.data.pretraining import create_pretraining_data, pretraining_dataset
    from keras_bert_repro.text.pretraining_preprocessor import BertPretrainingPreprocessor

    text = os.path.join(workdir, "wikitext-2-valid.txt")
    articles = wikitext_as_wikiextractor(data_path("wikitext-2", "wiki.valid.tokens"), text)
    shards = os.path.join(workdir, "held_out")
    create_pretraining_data(text, shards, tokenizer, max_seq_length=LENGTH, dupe_factor=1,
                            seed=1, format="wikiextractor", num_workers=1, progress=False)
    masker = BertPretrainingPreprocessor(tokenizer, sequence_length=LENGTH,
                                         max_predictions_per_seq=PREDICTIONS, seed=2)
    ds = masker.dataset(pretraining_dataset(os.path.join(shards, "*.tfrecord"),
                                            batch_size=args.batch, shuffle=False))
    return list(ds.as_numpy_iterator()), articles


def held_out_metrics(model, batches):
    """MLM accuracy and cross-entropy (nats) over the real masked positions, and
    NSP accuracy (None without an NSP head)."""
    hits = loss = count = nsp_hits = nsp_count = 0.0
    for x, y, w in batches:
        out = model.predict_on_batch(x)
        logits = np.asarray(out["mlm"] if isinstance(out, dict) else out, np.float64)
        logits -= logits.max(-1, keepdims=True)
        log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        target = np.take_along_axis(log_probs, y["mlm"][..., None], -1)[..., 0]
        hits += float(((log_probs.argmax(-1) == y["mlm"]) * w["mlm"]).sum())
        loss -= float((target * w["mlm"]).sum())
        count += float(w["mlm"].sum())
        if isinstance(out, dict) and "nsp" in out:
            nsp_hits += float((np.argmax(np.asarray(out["nsp"]), -1) == y["nsp"]).sum())
            nsp_count += len(y["nsp"])
    return {"mlm_accuracy": hits / count, "mlm_loss": loss / count,
            "nsp_accuracy": nsp_hits / nsp_count if nsp_count else None}


def train_in_turn(models, iterators, steps, skip, after_step=None):
    """Alternates one step of each model; returns ({name: steps/s after `skip` steps},
    {name: logs, the mean of the last `LOG_EVERY` steps}, {name: mean real MLM
    predictions per sequence}). A step's time includes taking its batch from the
    pipeline; `after_step(step)` (untimed) runs after each."""
    seconds = {name: 0.0 for name in models}
    predictions = {name: 0.0 for name in models}
    logs = {}
    for step in range(steps):
        if after_step is not None and step:
            after_step(step)
        for name, model in models.items():
            start = time.perf_counter()
            x, y, w = next(iterators[name])
            logs[name] = model.train_on_batch(x, y, sample_weight=w, return_dict=True)
            weights = w["mlm"] if isinstance(w, dict) else w
            predictions[name] += float(weights.sum()) / len(weights)
            if step >= skip:
                seconds[name] += time.perf_counter() - start
        if (step + 1) % LOG_EVERY == 0:
            print(f"step {step + 1}: " + "; ".join(
                f"{name} loss {logs[name]['loss']:.3f}, {seconds[name]:.0f} s" for name in models),
                flush=True)
            if step + 1 < steps:
                for model in models.values():
                    model.reset_metrics()  # the logs then average the last steps only
    return ({name: (steps - skip) / s for name, s in seconds.items()}, logs,
            {name: p / steps for name, p in predictions.items()})


def main():
    import keras

    from keras_bert_repro.text.tokenizer import BertTokenizer

    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--objective", choices=("mlm_nsp", "mlm"), default="mlm_nsp",
                        help="Ours' objective (mlm: like keras-hub's, without NSP).")
    parser.add_argument("--keras_hub_data", choices=("paragraphs", "instances"),
                        default="paragraphs",
                        help="keras-hub's training batches: its own preprocessor on pairs of "
                             "consecutive paragraphs, or ours' very batches (same sequences "
                             "and masks).")
    parser.add_argument("--dupe_factor", type=int, default=1,
                        help="Ours' passes over the text, each with other sentence pairs "
                             "(Google's default: 10).")
    args = parser.parse_args()
    if args.dupe_factor < 1:
        parser.error(f"--dupe_factor must be at least 1, got {args.dupe_factor}.")
    args.vocab = data_path("vocab", "bert-base-uncased-vocab.txt")
    backend = keras.config.backend()
    tokenizer = BertTokenizer(args.vocab, lowercase=True)
    workdir = tempfile.mkdtemp(prefix="bench_pretraining_")
    start = time.perf_counter()

    def phase(name):
        print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)

    try:  # the shards are read while training
        ours_data, hub_data, instances, pairs = training_data(args, tokenizer, workdir)
        held_out, articles = held_out_batches(args, tokenizer, workdir)
        phase("data")
        models = {"ours": our_model(args), "keras-hub": hub_model(args)}
        before = {name: held_out_metrics(m, held_out[:4]) for name, m in models.items()}
        phase("models")
        skip = min(20, args.steps // 5)
        quarters = {args.steps * q // 4 for q in (1, 2, 3)}
        curve = {name: [] for name in models}

        def held_out_curve(step):  # held-out MLM accuracy after each quarter of the steps
            if step in quarters:
                for name, model in models.items():
                    curve[name].append(held_out_metrics(model, held_out)["mlm_accuracy"])

        rates, logs, predictions = train_in_turn(
            models, {"ours": ours_data, "keras-hub": hub_data}, args.steps, skip, held_out_curve)
        phase("training")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    metrics = {name: held_out_metrics(m, held_out) for name, m in models.items()}
    for name in models:
        curve[name].append(metrics[name]["mlm_accuracy"])
    phase("held-out evaluation")
    masked = sum(float(w["mlm"].sum()) for _, _, w in held_out)
    random_next = np.mean(np.concatenate([y["nsp"] for _, y, _ in held_out]))
    rows = []
    for name in models:
        held, log = metrics[name], logs[name]
        mlm_acc = next(v for k, v in log.items() if "accuracy" in k and "nsp" not in k)
        nsp = "" if held["nsp_accuracy"] is None else (
            f"{100 * held['nsp_accuracy']:.1f} | {100 * log['nsp_accuracy']:.1f}")
        add_row(rows, f"| {name} | {before[name]['mlm_loss']:.2f} | {held['mlm_loss']:.2f} | "
                      f"{' / '.join(f'{100 * a:.1f}' for a in curve[name])} | "
                      f"{100 * mlm_acc:.1f} | "
                      f"{nsp or ' | '} | {rates[name]:.2f} | "
                      f"{rates[name] / rates['keras-hub']:.2f}x |")
    load = os.getloadavg()[0]
    body = (
        f"Backend **{backend}**. BERT-Tiny (L2/H128/A2, intermediate 512) from random "
        f"initialization, {args.steps} steps of batch {args.batch} x {LENGTH}, "
        f"bert_adamw peak lr {args.lr:g}, warm-up {args.warmup:.0%} then linear decay, "
        f"dropout 0.1, masking 15% (80/10/10, at most {PREDICTIONS} per sequence). Training "
        f"text: the Wikipedia sample; ours: {instances:,} next-sentence instances "
        f"(create_pretraining_data, dupe_factor {args.dupe_factor}), objective "
        f"{args.objective}; keras-hub (MLM only): " + (
            "ours' very batches (same sequences and masks, NSP labels unused). "
            if pairs is None else f"BertMaskedLMPreprocessor on {pairs:,} pairs of "
            "consecutive paragraphs. ") +
        f"Real MLM predictions per training sequence: ours {predictions['ours']:.1f}, "
        f"keras-hub {predictions['keras-hub']:.1f}. "
        f"Held-out: WikiText-2 validation ({articles} articles) as {len(held_out)} batches "
        f"of next-sentence instances, masked once ({masked:,.0f} predictions), the same "
        f"inputs for both. Steps/s: the models take steps in turn (train_on_batch, batch "
        f"fetch included), first {skip} steps left out; 1-minute load average at the end "
        f"{load:.1f} on {os.cpu_count()} cores (other jobs shared the machine). MLM loss: "
        f"mean cross-entropy (nats) over real predictions, before and after training; train "
        f"accuracies: means over the last {LOG_EVERY} steps. Held-out NSP: "
        f"{100 * random_next:.1f}% of the pairs have a random next segment (a constant "
        f"guess scores {100 * max(random_next, 1 - random_next):.1f}%).\n\n"
        + table(("model", "held-out MLM loss, step 0", "held-out MLM loss",
                 "held-out MLM acc after each quarter of the steps",
                 "train MLM acc", "held-out NSP acc", "train NSP acc", "steps/s", "vs keras-hub"),
                rows, text_columns=1))
    command = (f"KERAS_BACKEND={backend} python -m benchmarks.pretraining --steps={args.steps} "
               f"--batch={args.batch} --lr={args.lr:g} --warmup={args.warmup:g}")
    variant = ""  # the default run's section keeps its name; others get their own
    for flag, value, default, name in (("objective", args.objective, "mlm_nsp", "ours "),
                                       ("dupe_factor", args.dupe_factor, 1, "dupe_factor "),
                                       ("keras_hub_data", args.keras_hub_data, "paragraphs",
                                        "keras-hub on "),
                                       ("seed", args.seed, 0, "seed ")):
        if value != default:
            command += f" --{flag}={value}"
            variant += f", {name}{value}"
    write_section(f"Pre-training BERT-Tiny ({backend}{variant})", command, body)


if __name__ == "__main__":
    main()
