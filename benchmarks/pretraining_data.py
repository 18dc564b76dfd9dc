"""Pre-training data throughput: raw Wikipedia text -> masked length-128 batches.

    python -m benchmarks.pretraining_data [--dupe_factor 5 --batch 256 --repeats 3]

The Wikipedia sample (8 WikiExtractor files, 8.3 MB) and the bert-base-uncased
vocabulary, in one run, timings interleaved (median of `--repeats`):
- offline: `create_pretraining_data` (text -> TFRecord next-sentence instances),
  one process and one per core (parallel over input files, worker start-up
  included), then `pretraining_dataset` + `BertPretrainingPreprocessor` masking;
- streaming: `streaming_pretraining_dataset` + the same masking;
- keras-hub's `BertMaskedLMPreprocessor` (no NSP: it packs, tokenizes and masks
  text) and ours on the same text pairs (consecutive paragraphs, filling 128).
Reference: google-research/bert's create_pretraining_data.py made ~1,900
instances/s on one core with static masks (23,395 instances, dupe_factor=5,
12.5 s over 2.07 MB).
"""

import argparse
import glob
import itertools
import os
import shutil
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.common import data_path, interleaved, wikipedia_lines  # noqa: E402
from benchmarks.results import add_row, table, write_section  # noqa: E402

ORIGINAL_RATE = 1_900  # instances/s, the original release, one core
TARGET_RATE = 10 * ORIGINAL_RATE
LENGTH = 128


def count_batches(dataset):
    """(sequences, real tokens) in a dataset of `(x, y, w)` masked batches."""
    sequences = tokens = 0
    for x, _, _ in dataset:
        sequences += int(x["padding_mask"].shape[0])
        tokens += int(tf.reduce_sum(tf.cast(x["padding_mask"], tf.int64)))
    return sequences, tokens


def candidates(args, files, tokenizer, workdir):
    """{name: fn}, each fn one full pass, recording its counts in `counts[name]`."""
    import keras_hub

    from keras_bert_repro.data.pretraining import create_pretraining_data, pretraining_dataset
    from keras_bert_repro.data.pretraining_streaming import streaming_pretraining_dataset
    from keras_bert_repro.text.pretraining_preprocessor import BertPretrainingPreprocessor

    counts = {}
    masker = BertPretrainingPreprocessor(tokenizer, sequence_length=LENGTH, seed=1)
    hub = keras_hub.models.BertMaskedLMPreprocessor(
        keras_hub.models.BertTokenizer(vocabulary=args.vocab, lowercase=True),
        sequence_length=LENGTH, mask_selection_length=20)
    shards = os.path.join(workdir, "shards")
    fresh = itertools.count()

    def create(workers):
        def run():
            # A new directory each time: create_pretraining_data skips existing shards.
            out = os.path.join(workdir, f"run{next(fresh)}")
            stats = create_pretraining_data(files, out, tokenizer, max_seq_length=LENGTH,
                                            dupe_factor=args.dupe_factor, seed=12345,
                                            num_workers=workers, progress=False)
            counts[f"create{workers}"] = (stats.instances, None)
            shutil.rmtree(out)
        return run

    def read_and_mask():
        ds = pretraining_dataset(os.path.join(shards, "*.tfrecord"), batch_size=args.batch)
        counts["read_mask"] = count_batches(masker.dataset(ds))

    def read_only():
        n = 0
        for batch in pretraining_dataset(os.path.join(shards, "*.tfrecord"),
                                         batch_size=args.batch):
            n += int(batch["is_random_next"].shape[0])
        counts["read"] = (n, None)

    def streaming():
        ds = streaming_pretraining_dataset(files, tokenizer, max_seq_length=LENGTH, seed=1,
                                           dupe_factor=args.dupe_factor, batch_size=args.batch)
        counts["streaming"] = count_batches(masker.dataset(ds))

    a, b, labels = paragraph_pairs()
    pairs = tf.data.Dataset.from_tensor_slices((a, b, labels)).batch(args.batch)

    def ours_text():
        counts["ours_text"] = count_batches(masker.dataset(pairs))

    def hub_text():
        # x=(a, b): a positional tuple would be taken as one segment.
        ds = pairs.map(lambda a, b, _: hub(x=(a, b)), num_parallel_calls=tf.data.AUTOTUNE)
        counts["hub_text"] = count_batches(ds.prefetch(tf.data.AUTOTUNE))

    tiny = []
    for i in range(args.workers):
        tiny.append(os.path.join(workdir, f"tiny{i}.txt"))
        with open(tiny[-1], "w", encoding="utf-8") as f:
            f.write("One sentence here.\nAnother one there.\n\nA second document.\nIts end.\n")

    def startup():
        """`create_pretraining_data` on the workers for next to no text."""
        out = os.path.join(workdir, f"run{next(fresh)}")
        create_pretraining_data(tiny, out, tokenizer, num_workers=args.workers, progress=False)
        shutil.rmtree(out)

    create_pretraining_data(files, shards, tokenizer, max_seq_length=LENGTH,
                            dupe_factor=args.dupe_factor, seed=12345, num_workers=1,
                            progress=False)
    fns = {"create1": create(1), "create2": create(args.workers), "startup": startup,
           "read": read_only, "read_mask": read_and_mask, "streaming": streaming,
           "ours_text": ours_text, "hub_text": hub_text}
    return fns, counts


def paragraph_pairs():
    """Consecutive paragraphs of the sample as (text_a, text_b, 0) triples: about two
    paragraphs fill 128 WordPieces, as an instance does."""
    lines = wikipedia_lines()
    return lines[:-1], lines[1:], np.zeros(len(lines) - 1, "int32")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dupe_factor", type=int, default=5)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    args = parser.parse_args()
    from keras_bert_repro.text.tokenizer import BertTokenizer

    args.vocab = data_path("vocab", "bert-base-uncased-vocab.txt")
    files = sorted(glob.glob(os.path.join(data_path("wikipedia-sample"), "*")))
    megabytes = sum(os.path.getsize(f) for f in files) / 1e6
    tokenizer = BertTokenizer(args.vocab, lowercase=True)
    workdir = tempfile.mkdtemp(prefix="bench_pretraining_data_")
    try:
        fns, counts = candidates(args, files, tokenizer, workdir)
        times = interleaved(fns, args.repeats)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    body = report(args, times, counts, len(files), megabytes)
    command = (f"python -m benchmarks.pretraining_data --dupe_factor={args.dupe_factor} "
               f"--batch={args.batch} --repeats={args.repeats} --workers={args.workers}")
    write_section("Pre-training data throughput", command, body)


def report(args, times, counts, num_files, megabytes):
    def rate(name):
        return counts[name][0] / times[name]

    def tokens(name):
        n, t = counts[name]
        return f"{t / n:.0f}" if t is not None else ""

    instances = counts["create1"][0]
    rows = []

    def row(path, stage, name_or_rate, seconds=None, per_seq=""):
        value = rate(name_or_rate) if isinstance(name_or_rate, str) else name_or_rate
        seconds = times[name_or_rate] if seconds is None else seconds
        add_row(rows, f"| {path} | {stage} | {value:,.0f} | {value / ORIGINAL_RATE:.1f}x | "
                      f"{seconds:.2f} | {per_seq} |")

    workers = args.workers
    row("offline", "create_pretraining_data, 1 process (text -> TFRecords)", "create1")
    row("offline", f"create_pretraining_data, {workers} processes (over input files)",
        "create2")
    row("offline", "read shards (pretraining_dataset, no masking)", "read")
    row("offline", "read shards + mask (BertPretrainingPreprocessor)", "read_mask",
        per_seq=tokens("read_mask"))
    for name, label in (("create1", "1 process"), ("create2", f"{workers} processes")):
        seconds = times[name] + times["read_mask"]
        row("offline", f"end to end, creation on {label}", instances / seconds, seconds)
    row("streaming", "streaming_pretraining_dataset + mask", "streaming",
        per_seq=tokens("streaming"))
    row("text pairs", "ours: BertPretrainingPreprocessor on (text_a, text_b)", "ours_text",
        per_seq=tokens("ours_text"))
    row("text pairs", "keras-hub BertMaskedLMPreprocessor on (text_a, text_b)", "hub_text",
        per_seq=tokens("hub_text"))
    return (
        f"Length-{LENGTH} sequences (instances) per second, from the raw Wikipedia sample "
        f"({num_files} WikiExtractor files, {megabytes:.1f} MB) to masked batches of "
        f"{args.batch}; bert-base-uncased vocabulary; dupe_factor={args.dupe_factor} "
        f"({instances:,} offline instances); median of {args.repeats} interleaved repeats, "
        f"seconds per full pass. Reference: the original create_pretraining_data.py, "
        f"~{ORIGINAL_RATE:,} instances/s on one core with static masks (23,395 instances, "
        f"dupe_factor=5, 12.5 s over 2.07 MB); aim {TARGET_RATE:,}/s. The {workers}-process "
        f"row includes starting the workers (spawned, each importing TensorFlow: "
        f"{times['startup']:.1f} s for no text): on 8 MB it cannot pay off, and it needs an "
        f"idle core. The text-pair rows feed both preprocessors "
        f"the same {counts['hub_text'][0]:,} pairs of consecutive paragraphs (keras-hub has "
        f"no NSP instance maker; it tokenizes text); 'tokens/seq' is real tokens per "
        f"sequence. 1-minute load average at the end: {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores (other jobs shared the machine).\n\n"
        + table(("path", "stage", "seq/s", "vs original", "s", "tokens/seq"), rows))


if __name__ == "__main__":
    main()
