"""Pre-training instances (next-sentence pairs): creation as TFRecord shards, and reading.

`create_pretraining_data` is google-research/bert's `create_pretraining_data.py`
without the static masks (masking is dynamic, in tf.data): the same documents,
target lengths, segment chunks, 50% random next sentences and random
truncation, drawn from the same `random.Random` calls in the same order (see
`pretraining_instances`). It differs in three ways:
- the input files are cut into groups (`files_per_shard`), each made into one
  output shard on its own, in parallel: random next sentences come from the
  documents of the same group, and instances are shuffled within the shard
  (the original pooled and shuffled everything; its README advises running it
  per input shard anyway). With one group it is the original, masking aside;
- text is read and tokenized by TF ops (`pretraining_documents`), in batches;
- shards are written under a temporary name and renamed when complete, and a
  rerun with the same settings skips the shards that exist, so an interrupted
  run resumes.

Each instance is a `tf.train.Example` with "token_ids" (`[CLS] A [SEP] B [SEP]`,
unpadded), "segment_ids" (0 for `[CLS] A [SEP]`, 1 for `B [SEP]`) and
"is_random_next" (1 when B comes from another document).
"""

import concurrent.futures
import dataclasses
import functools
import hashlib
import itertools
import json
import multiprocessing
import os
import random

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from keras_bert_repro.data.pretraining_documents import list_files
from keras_bert_repro.data.pretraining_instances import (
    check_max_seq_length, create_training_instances, read_corpus)
from keras_bert_repro.presets.recorded_settings import describe_changes

MANIFEST = "pretraining_data.json"
SHARD_SUFFIX = ".tfrecord"
INCOMPLETE_SUFFIX = ".incomplete"


def serialize_instances(tokens, instances, cls_id, sep_id):
    """`Instance`s (token ranges into `tokens`) -> serialized `tf.train.Example`s.

    Features: "token_ids" (`[CLS] A [SEP] B [SEP]`), "segment_ids" and
    "is_random_next", int64 lists. The bytes are those of protobuf's
    deterministic serialization, made with numpy: building protos token by
    token in Python would cost more than making the instances.
    """
    fields = np.fromiter(itertools.chain.from_iterable(instances), np.int64,
                         count=5 * len(instances)).reshape(-1, 5)
    ranges = fields[:, :4]
    a_lengths, b_lengths = ranges[:, 1] - ranges[:, 0], ranges[:, 3] - ranges[:, 2]
    lengths = a_lengths + b_lengths + 3
    # For every token of every instance: its row and position, and where it is
    # in `tokens` followed by [CLS] and [SEP].
    row = np.repeat(np.arange(len(ranges)), lengths)
    position = np.arange(len(row)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    b_first = a_lengths[row] + 2
    index = np.where(position < b_first, ranges[row, 0] + position - 1,
                     ranges[row, 2] + position - b_first)
    index[position == 0] = len(tokens)
    index[(position == b_first - 1) | (position == lengths[row] - 1)] = len(tokens) + 1
    token_ids = np.concatenate([tokens, [cls_id, sep_id]]).astype(np.int64)[index]
    packed, sizes = _varints(token_ids)
    # Where each instance's token ids start and end in `packed`.
    ends = np.cumsum(np.bincount(row, weights=sizes, minlength=len(ranges))).astype(np.int64)
    starts = np.concatenate([[0], ends[:-1]])
    labels = [_int64_feature(b"is_random_next", b"\x00"),
              _int64_feature(b"is_random_next", b"\x01")]
    examples = []
    for start, end, a_length, b_length, random_next in zip(
            starts.tolist(), ends.tolist(), a_lengths.tolist(), b_lengths.tolist(),
            fields[:, 4].tolist()):
        # Features in key order, as deterministic serialization writes them.
        features = (labels[random_next] + _segment_ids_feature(a_length, b_length)
                    + _int64_feature_prefix(b"token_ids", end - start) + packed[start:end])
        examples.append(_field(1, features))
    return examples


def _varints(values):
    """Non-negative ints below 2**28 (token ids) -> their protobuf varints,
    concatenated (bytes), and each one's size in bytes."""
    values = values.astype(np.uint32)
    sizes = (1 + (values >= 1 << 7) + (values >= 1 << 14) + (values >= 1 << 21)).astype(np.uint8)
    ends = np.cumsum(sizes, dtype=np.int64)
    out = np.empty(ends[-1] if len(ends) else 0, np.uint8)
    starts = ends - sizes
    # Byte k of every value that has one, 7 bits each, the high bit set when more follow;
    # written byte by byte into place: a [n, 4] array and a mask cost 6x more.
    for k in range(4):
        has = slice(None) if k == 0 else sizes > k
        more = (sizes[has] > k + 1).astype(np.uint8) << 7
        out[starts[has] + k] = ((values[has] >> 7 * k) & 0x7F).astype(np.uint8) | more
    return out.tobytes(), sizes


@functools.lru_cache(maxsize=1 << 14)
def _varint(value):
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number, payload):
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _int64_feature(name, packed_values):
    """An entry of `Features.feature` (key 1, value 2) holding a `Feature` whose
    `int64_list` (3) has the packed `value`s (1)."""
    return _field(1, _field(1, name) + _field(2, _field(3, _field(1, packed_values))))


@functools.lru_cache(maxsize=1 << 12)
def _int64_feature_prefix(name, size):
    """`_int64_feature(name, values)` less the `values` at its end: it depends only
    on their size in bytes, so instances share it."""
    feature = _int64_feature(name, bytes(size))
    return feature[:len(feature) - size]


@functools.lru_cache(maxsize=1 << 14)
def _segment_ids_feature(a_length, b_length):
    """The "segment_ids" feature of `[CLS] A [SEP] B [SEP]`."""
    return _int64_feature(b"segment_ids", b"\x00" * (a_length + 2) + b"\x01" * (b_length + 1))


def parse_pretraining_example(serialized):
    """Serialized instance(s) -> dict(token_ids, segment_ids, is_random_next), int32.

    A scalar gives 1-D `token_ids`/`segment_ids` and a scalar `is_random_next`;
    a batch `[B]` gives ragged `[B, (length)]` and `[B]`.
    """
    features = {
        "token_ids": tf.io.RaggedFeature(tf.int64),
        "segment_ids": tf.io.RaggedFeature(tf.int64),
        "is_random_next": tf.io.FixedLenFeature([], tf.int64),
    }
    parsed = tf.io.parse_example(serialized, features)
    return {name: tf.cast(value, tf.int32) for name, value in parsed.items()}


def pretraining_dataset(file_pattern, batch_size=None, shuffle=True, seed=None,
                        shuffle_buffer_size=10_000, repeat=False, num_parallel_reads=8,
                        drop_remainder=False):
    """TFRecord shards of instances -> tf.data of `parse_pretraining_example` dicts.

    Files are listed with `tf.io.gfile.glob` (so `gs://` works), shuffled with
    the instances when `shuffle`, read `num_parallel_reads` at a time. With
    `batch_size`, elements are batches: ragged `token_ids`/`segment_ids`
    `[B, (length)]`, which the pre-training preprocessor masks and pads (made
    by parsing batches, much faster than batching parsed instances).

    Example:
    >>> ds = pretraining_dataset("data/pretraining/*.tfrecord", batch_size=32)  # doctest: +SKIP
    """
    files = list_files(file_pattern)
    ds = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed)
    if repeat:
        ds = ds.repeat()
    ds = ds.interleave(tf.data.TFRecordDataset, cycle_length=min(num_parallel_reads, len(files)),
                       num_parallel_calls=tf.data.AUTOTUNE,
                       deterministic=True if seed is not None or not shuffle else None)
    if shuffle:
        ds = ds.shuffle(shuffle_buffer_size, seed=seed)
    if batch_size is not None:
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(parse_pretraining_example, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


@dataclasses.dataclass
class PretrainingDataStats:
    """What `create_pretraining_data` made (or found already made)."""

    shards: list
    skipped_shards: int = 0
    instances: int = 0  # in all shards
    random_next: int = 0  # in all shards
    documents_made: int = 0  # in the shards made by this run
    instances_made: int = 0

    @property
    def random_next_fraction(self):
        return self.random_next / max(self.instances, 1)

    def nsp_warning(self, limit=0.6):
        """A warning when far more than half the next sentences are random (the paper's
        50/50): documents too short to give a next sentence, e.g. paragraphs taken
        for documents. None otherwise."""
        if self.instances < 100 or self.random_next_fraction <= limit:
            return None
        return (f"warning: {self.random_next_fraction:.1%} of the next sentences are random, "
                "not about 50%: most documents are too short for next-sentence pairs. If "
                "blank lines in this corpus separate paragraphs rather than documents "
                "(WikiText's layout), read it with format=\"paragraphs\" "
                "(--format=paragraphs).")

    def __str__(self):
        return (f"{self.instances:,} instances in {len(self.shards)} shards, "
                f"{self.random_next_fraction:.2%} with a random next sentence; this run made "
                f"{len(self.shards) - self.skipped_shards} shards ({self.instances_made:,} "
                f"instances from {self.documents_made:,} documents)")


@dataclasses.dataclass(frozen=True)
class _ShardJob:
    index: int
    files: tuple
    path: str
    max_seq_length: int
    short_seq_prob: float
    dupe_factor: int
    seed: int
    format: str


def create_pretraining_data(input_pattern, output_dir, tokenizer, max_seq_length=128,
                            short_seq_prob=0.1, dupe_factor=10, seed=12345, format="auto",
                            files_per_shard=1, num_workers=None, progress=True):
    """Writes next-sentence instances of raw text files as TFRecord shards.

    Input files (sorted) are taken `files_per_shard` at a time; each group
    becomes `<output_dir>/pretraining-<i>-of-<n>.tfrecord`, made by one of
    `num_workers` processes (default: one per CPU; 0 or 1: in this process).
    A shard's content depends only on its files, its index and the settings,
    never on the number of workers. Existing shards are skipped;
    `<output_dir>/pretraining_data.json` records the settings, and a rerun
    with other settings raises.

    Args:
        input_pattern: a glob pattern, a comma-separated list of them, or a list.
        output_dir: where the shards go (local or `gs://`).
        tokenizer: a `BertTokenizer`.
        max_seq_length: the longest instance, `[CLS]` and `[SEP]`s included.
        short_seq_prob: how often a document aims at a shorter random length.
        dupe_factor: passes over the documents (each with other pairs).
        seed: random seed; the shard at index i uses `seed + (i << 32)`.
        format: "auto", "lines", "wikiextractor" or "paragraphs" (see
            `pretraining_documents`).
        files_per_shard: input files per output shard; random next sentences
            are drawn from the documents of these files.
        progress: show a tqdm progress bar over the shards.

    Returns:
        `PretrainingDataStats`.

    Example:
    >>> tok = kbr.BertTokenizer.from_preset("bert_base_en_uncased")  # doctest: +SKIP
    >>> create_pretraining_data("wiki/*/wiki_*", "data/pretraining", tok,
    ...                         dupe_factor=5)  # doctest: +SKIP
    """
    check_max_seq_length(max_seq_length)
    if files_per_shard < 1 or dupe_factor < 1:
        raise ValueError("files_per_shard and dupe_factor must be at least 1.")
    files = list_files(input_pattern)
    groups = [tuple(files[i:i + files_per_shard]) for i in range(0, len(files), files_per_shard)]
    settings = dict(max_seq_length=max_seq_length, short_seq_prob=short_seq_prob,
                    dupe_factor=dupe_factor, seed=seed, format=format,
                    files_per_shard=files_per_shard, lowercase=tokenizer.lowercase,
                    vocabulary_sha256=vocabulary_sha256(tokenizer.vocabulary),
                    input_files=files)
    tf.io.gfile.makedirs(output_dir)
    _check_manifest(output_dir, settings)
    jobs = [_ShardJob(i, group, _shard_path(output_dir, i, len(groups)), max_seq_length,
                      short_seq_prob, dupe_factor, seed, format)
            for i, group in enumerate(groups)]
    done = [job for job in jobs if tf.io.gfile.exists(job.path)]
    todo = [job for job in jobs if job not in done]
    stats = PretrainingDataStats(shards=[job.path for job in jobs], skipped_shards=len(done))
    if done:
        print(f"Skipping {len(done)} of {len(jobs)} shards: they exist in {output_dir}.")
    for job in done:
        instances, random_next = count_instances(job.path)
        stats.instances += instances
        stats.random_next += random_next
    for documents, instances, random_next in _run(todo, tokenizer, num_workers, progress):
        stats.documents_made += documents
        stats.instances_made += instances
        stats.instances += instances
        stats.random_next += random_next
    return stats


def vocabulary_sha256(tokens):
    """The fingerprint `pretraining_data.json` records of the vocabulary's tokens."""
    return hashlib.sha256("\n".join(tokens).encode("utf-8")).hexdigest()


def check_pretraining_vocabulary(file_pattern, tokenizer, sample=1024):
    """Raises ValueError when the TFRecords of `file_pattern` were made with another
    vocabulary or casing than `tokenizer`'s: the `pretraining_data.json` beside them
    (its sha256) where there is one, and always the largest token id of the first
    `sample` instances of the first file against the vocabulary's size."""
    files = list_files(file_pattern)
    for folder in sorted({os.path.dirname(f) for f in files}):
        manifest = os.path.join(folder, MANIFEST)
        if not tf.io.gfile.exists(manifest):
            continue
        with tf.io.gfile.GFile(manifest) as f:
            made = json.load(f)
        if made.get("vocabulary_sha256") not in (None, vocabulary_sha256(tokenizer.vocabulary)):
            raise ValueError(f"The TFRecords in {folder} were made with another vocabulary "
                             f"(see {manifest}); train with the vocabulary that made them, or "
                             "remake them with this one.")
        if made.get("lowercase", tokenizer.lowercase) != tokenizer.lowercase:
            raise ValueError(f"The TFRecords in {folder} were made "
                             f"{'lower-cased' if made['lowercase'] else 'cased'} and this "
                             "tokenizer is not; give the same casing.")
    first = tf.data.TFRecordDataset(files[:1]).take(sample).batch(sample)
    for batch in first.map(parse_pretraining_example):
        largest = int(tf.reduce_max(batch["token_ids"].flat_values))
        if largest >= tokenizer.vocabulary_size:
            raise ValueError(f"{files[0]} holds token id {largest}, beyond this vocabulary's "
                             f"{tokenizer.vocabulary_size} tokens: it was made with another.")


def count_instances(path):
    """(instances, random-next instances) in a TFRecord shard."""
    ds = tf.data.TFRecordDataset(path).batch(4096).map(
        lambda x: tf.io.parse_example(
            x, {"is_random_next": tf.io.FixedLenFeature([], tf.int64)})["is_random_next"])
    instances = random_next = 0
    for labels in ds:
        instances += int(labels.shape[0])
        random_next += int(tf.reduce_sum(labels))
    return instances, random_next


def _shard_path(output_dir, index, count):
    return os.path.join(output_dir, f"pretraining-{index:05d}-of-{count:05d}{SHARD_SUFFIX}")


def _check_manifest(output_dir, settings):
    path = os.path.join(output_dir, MANIFEST)
    if tf.io.gfile.exists(path):
        with tf.io.gfile.GFile(path) as f:
            old = json.load(f)
        changes = describe_changes(old, settings, limit=3)
        if changes:
            raise ValueError(f"{output_dir} holds shards made with other settings "
                             f"({changes}; see {path}); use another output_dir or empty it.")
        return
    _write_atomically(path, lambda tmp: _write_json(tmp, settings))


def _write_json(path, data):
    with tf.io.gfile.GFile(path, "w") as f:
        json.dump(data, f, indent=1)


def _write_atomically(path, write):
    """Writes through `write(temporary_path)`, then renames, so `path` exists only
    complete; a leftover temporary file from a killed run is overwritten."""
    tmp = path + INCOMPLETE_SUFFIX
    write(tmp)
    tf.io.gfile.rename(tmp, path, overwrite=True)


def _run(jobs, tokenizer, num_workers, progress):
    """Yields `_make_shard`'s results, jobs spread over worker processes."""
    num_workers = min(os.cpu_count() if num_workers is None else num_workers, len(jobs))
    bar = tqdm(total=len(jobs), unit="shard", desc="pretraining data", disable=not progress)
    total = 0
    if num_workers <= 1:
        results = (_make_shard(job, tokenizer) for job in jobs)
        pool = None
    else:
        # Spawned, not forked: a forked TensorFlow runtime can deadlock.
        pool = concurrent.futures.ProcessPoolExecutor(
            num_workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(type(tokenizer), list(tokenizer.vocabulary), tokenizer.lowercase))
        futures = [pool.submit(_make_shard, job) for job in jobs]
        results = (f.result() for f in concurrent.futures.as_completed(futures))
    try:
        for result in results:
            total += result[1]
            bar.update()
            bar.set_postfix(instances=f"{total:,}")
            yield result
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown(cancel_futures=True)


_worker_tokenizer = None


def _init_worker(tokenizer_class, vocabulary, lowercase):
    global _worker_tokenizer
    # Workers share the CPUs: one TF thread each.
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    _worker_tokenizer = tokenizer_class(vocabulary, lowercase=lowercase)


def _make_shard(job, tokenizer=None):
    """Makes one shard -> (documents, instances, random-next instances)."""
    tokenizer = _worker_tokenizer if tokenizer is None else tokenizer
    tokens, documents = read_corpus(job.files, tokenizer, job.format)
    if not documents:
        raise ValueError(f"No text in {', '.join(job.files)}: empty files, or none in the "
                         f"{job.format!r} format?")
    rng = random.Random(job.seed + (job.index << 32))
    instances = create_training_instances(documents, job.max_seq_length, job.dupe_factor,
                                          job.short_seq_prob, rng)
    examples = serialize_instances(tokens, instances, tokenizer.token_to_id("[CLS]"),
                                   tokenizer.token_to_id("[SEP]"))

    def write(path):
        with tf.io.TFRecordWriter(path) as writer:
            for example in examples:
                writer.write(example)

    _write_atomically(job.path, write)
    return len(documents), len(instances), sum(i.is_random_next for i in instances)
