"""Next-sentence instances made inside tf.data from raw text, for corpora too big to
pre-process: the same elements as `pretraining.pretraining_dataset`, no TFRecords.

The pairs follow the original `create_instances_from_document` (see
`pretraining_instances.py`) in TF ops, vectorized over a group of documents: a target
length per document (`short_seq_prob` of the time a random shorter one), chunks
of whole sentences up to it, A = a random number of the chunk's first
sentences, B = the rest of the chunk, or half the time (always for a one-sentence
chunk) sentences from a random other document, the chunk's unused sentences
then starting the next chunk; the pair truncated from the front or back of the
longer side at random. It differs from the offline path in that:
- the random B comes from another document of the same group of
  `documents_per_group` documents, drawn from a shuffle buffer of
  `document_buffer_size` (the original: from any document of the input);
- a random document is always another one (the original retries ten times);
- the truncation draws the number of front cuts of each side at once
  (binomially; the same distribution as the original's coin per token);
- the random numbers come from stateless TF ops, so the instances are not the
  offline path's for the same seed (but repeat for the same seed and files);
- `dupe_factor` passes are made over each group of documents (not over the
  whole input), and `repeat=True` makes new pairs on every pass over the files.
Files are read whole, one at a time per parallel call: keep them to a few
hundred MB (WikiExtractor's are 1 MB).
"""

import random

import tensorflow as tf

from keras_bert_repro.data.pretraining_documents import (
    list_files, read_documents, tokenize_documents)
from keras_bert_repro.data.pretraining_instances import check_max_seq_length


def streaming_pretraining_dataset(file_pattern, tokenizer, max_seq_length=128, seed=None,
                                  short_seq_prob=0.1, dupe_factor=1, format="auto",
                                  documents_per_group=64, document_buffer_size=1_000,
                                  instance_buffer_size=10_000, repeat=False, batch_size=None,
                                  drop_remainder=False):
    """Raw text files -> tf.data of dict(token_ids, segment_ids, is_random_next).

    Elements are those of `pretraining_dataset` (int32: 1-D `[CLS] A [SEP] B [SEP]`
    ids and segment ids of at most `max_seq_length`, scalar `is_random_next`),
    or with `batch_size` its batches (ragged `[B, (length)]`; made as batches,
    much faster than batching instances).

    Args:
        file_pattern: a glob pattern, a comma-separated list of them, or a list.
        tokenizer: a `BertTokenizer`.
        max_seq_length: the longest instance, `[CLS]` and `[SEP]`s included.
        seed: makes the files' order, the shuffles and the pairs repeatable;
            `None` draws one.
        short_seq_prob: how often a document aims at a shorter random length.
        dupe_factor: sets of pairs made of each group of documents; reuses the
            tokenization, which costs most.
        format: "auto", "lines", "wikiextractor" or "paragraphs" (see
            `pretraining_documents`).
        documents_per_group: documents that draw random next sentences from
            one another.
        document_buffer_size, instance_buffer_size: shuffle buffers of
            documents (before grouping) and of instances.
        repeat: loop over the files forever, with new pairs each pass.
        batch_size, drop_remainder: batch the instances.

    Example:
    >>> tok = kbr.BertTokenizer.from_preset("bert_base_en_uncased")  # doctest: +SKIP
    >>> ds = streaming_pretraining_dataset("wiki/*/wiki_*", tok, seed=1,
    ...                                    batch_size=256)  # doctest: +SKIP
    """
    check_max_seq_length(max_seq_length)
    if dupe_factor < 1:
        raise ValueError(f"dupe_factor must be at least 1, got {dupe_factor}.")
    if documents_per_group < 2:
        raise ValueError(f"documents_per_group must be at least 2 (random next sentences "
                         f"come from another document), got {documents_per_group}.")
    files = list_files(file_pattern)
    seed = random.SystemRandom().randrange(2**31) if seed is None else seed
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")

    def documents_of_file(path):
        documents = tokenize_documents(read_documents(tf.io.read_file(path), format), tokenizer)
        return tf.data.Dataset.from_tensor_slices(documents)

    def instances_of_group(index, documents):
        group_seed = tf.random.experimental.stateless_fold_in(
            tf.constant([seed, 0], tf.int64), index)
        instances = group_instances(documents, max_seq_length, short_seq_prob, dupe_factor,
                                    group_seed, cls_id, sep_id)
        # Padded rows: tf.data shuffles and batches dense tensors much faster.
        return {"token_ids": instances["token_ids"].to_tensor(shape=[None, max_seq_length]),
                "length": tf.cast(instances["token_ids"].row_lengths(), tf.int32),
                "b_start": tf.reduce_sum(1 - instances["segment_ids"], axis=1),
                "is_random_next": instances["is_random_next"]}

    ds = tf.data.Dataset.from_tensor_slices(files).shuffle(len(files), seed=seed)
    if repeat:
        ds = ds.repeat()
    ds = ds.interleave(documents_of_file, cycle_length=tf.data.AUTOTUNE,
                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.shuffle(document_buffer_size, seed=seed).ragged_batch(documents_per_group)
    ds = ds.enumerate().map(instances_of_group, num_parallel_calls=tf.data.AUTOTUNE,
                            deterministic=True).unbatch()
    ds = ds.shuffle(instance_buffer_size, seed=seed)
    if batch_size is not None:
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(_unpad, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def _unpad(padded):
    """Padded instances (or batches of them) -> the elements of `pretraining_dataset`."""
    length, b_start = padded["length"], padded["b_start"]
    if length.shape.rank == 0:
        token_ids = padded["token_ids"][:length]
        segment_ids = tf.range(length) >= b_start
    else:
        token_ids = tf.RaggedTensor.from_tensor(padded["token_ids"], lengths=length)
        segment_ids = tf.ragged.range(length) >= b_start[:, None]
    return {"token_ids": token_ids, "segment_ids": tf.cast(segment_ids, tf.int32),
            "is_random_next": padded["is_random_next"]}


def group_instances(documents, max_seq_length, short_seq_prob, dupe_factor, seed, cls_id,
                    sep_id):
    """The instances of a group of documents, `dupe_factor` sets of them, in TF ops.

    Args:
        documents: ragged int32 `[docs, (sentences), (ids)]`, no empty sentence
            or document.
        seed: a stateless seed, shape `[2]`.

    Returns:
        dict(token_ids=ragged int32 `[n, (length)]`, segment_ids=likewise,
        is_random_next=int32 `[n]`).
    """
    max_num_tokens = max_seq_length - 3
    # Sentences as token offsets into `tokens`: sentence s is
    # tokens[bounds[s]:bounds[s + 1]], and a document's sentences are in a row.
    tokens = documents.flat_values
    bounds = documents.values.row_splits
    num_docs = documents.nrows()
    first_sentence, end_sentence = documents.row_splits[:-1], documents.row_splits[1:]
    # One row per document and pass: all passes advance together.
    doc = tf.tile(tf.range(num_docs), [dupe_factor])
    rows = tf.size(doc, out_type=tf.int64)
    doc_end = tf.gather(end_sentence, doc)
    short_seed, length_seed, chunk_seed, truncation_seed = tf.unstack(
        tf.random.experimental.stateless_split(seed, 4))
    short = tf.random.stateless_uniform([rows], short_seed) < short_seq_prob
    target = tf.where(short, tf.random.stateless_uniform(
        [rows], length_seed, 2, max_num_tokens + 1, tf.int64), max_num_tokens)

    def next_chunks(step, start, pieces):
        """One chunk of every unfinished row; `start`: its first sentence."""
        u = tf.random.stateless_uniform(
            [4, rows], tf.random.experimental.stateless_fold_in(chunk_seed, step))
        active = start < doc_end
        # The chunk: sentences from `start` until the target length is reached.
        end = tf.minimum(tf.searchsorted(bounds, tf.gather(bounds, start) + target,
                                         out_type=tf.int64), doc_end)
        size = end - start
        # (Finished rows get an empty chunk: a_end = start = end.)
        a_end = tf.minimum(start + tf.where(size >= 2, 1 + _below(u[0], size - 1), 1), end)
        random_next = (size == 1) | (u[1] < 0.5)
        # A random next B: from a random sentence of another document of the
        # group on, until it fills what A leaves of the target.
        other = (doc + 1 + _below(u[2], num_docs - 1)) % num_docs
        other_start = tf.gather(first_sentence, other) + _below(
            u[3], tf.gather(end_sentence - first_sentence, other))
        a_length = tf.gather(bounds, a_end) - tf.gather(bounds, start)
        other_end = tf.searchsorted(
            bounds, tf.gather(bounds, other_start) + target - a_length, out_type=tf.int64)
        other_end = tf.clip_by_value(other_end, other_start + 1, tf.gather(end_sentence, other))
        b_start = tf.where(random_next, other_start, a_end)
        b_end = tf.where(random_next, other_end, end)
        pieces = [array.write(step, tf.boolean_mask(value, active)) for array, value in zip(
            pieces, (start, a_end, b_start, b_end, tf.cast(random_next, tf.int64)))]
        # A random B leaves the chunk's sentences after A for the next chunk.
        start = tf.where(active, tf.where(random_next, a_end, end), start)
        return step + 1, start, pieces

    pieces = [tf.TensorArray(tf.int64, size=0, dynamic_size=True, infer_shape=False,
                             element_shape=[None])
              for _ in range(5)]
    _, _, pieces = tf.while_loop(
        lambda step, start, pieces: tf.reduce_any(start < doc_end), next_chunks,
        (tf.constant(0), tf.gather(first_sentence, doc), pieces))
    # Sentence indices -> token offsets.
    a_start, a_end, b_start, b_end = (tf.gather(bounds, array.concat()) for array in pieces[:4])
    a_start, a_end, b_start, b_end = _truncate_seq_pairs(
        a_start, a_end, b_start, b_end, max_num_tokens, truncation_seed)
    token_ids, segment_ids = _pack(tokens, a_start, a_end, b_start, b_end, cls_id, sep_id)
    return {"token_ids": token_ids, "segment_ids": segment_ids,
            "is_random_next": tf.cast(pieces[4].concat(), tf.int32)}


def _pack(tokens, a_start, a_end, b_start, b_end, cls_id, sep_id):
    """Token ranges -> ragged `[CLS] A [SEP] B [SEP]` ids and their segment ids."""
    a_length, b_length = a_end - a_start, b_end - b_start
    positions = tf.ragged.range(a_length + b_length + 3)
    i, row = positions.flat_values, positions.value_rowids()
    a_length, b_length = tf.gather(a_length, row), tf.gather(b_length, row)
    b_first = a_length + 2  # the position of B's first token
    # `tokens` followed by [CLS] and [SEP], so every position is a gather.
    cls_index = tf.size(tokens, out_type=tf.int64)
    index = tf.where(i == 0, cls_index,
                     tf.where(i <= a_length, tf.gather(a_start, row) + i - 1,
                              tf.where((i == b_first - 1) | (i == b_first + b_length),
                                       cls_index + 1, tf.gather(b_start, row) + i - b_first)))
    ids = tf.gather(tf.concat([tokens, [cls_id, sep_id]], axis=0), index)
    return (positions.with_flat_values(ids),
            positions.with_flat_values(tf.cast(i >= b_first, tf.int32)))


def _below(uniform, n):
    """Uniform random integers in [0, n) from uniform floats in [0, 1)."""
    return tf.minimum(tf.cast(uniform * tf.cast(n, tf.float32), tf.int64), tf.maximum(n - 1, 0))


def _truncate_seq_pairs(a_start, a_end, b_start, b_end, max_num_tokens, seed):
    """The original's `truncate_seq_pair` on token ranges, all pairs at once.

    Its loop cuts the longer side (B on ties) one token at a time, which ends
    with only the longer side cut when that suffices, else with A and B at
    ceil(max/2) and floor(max/2); each cut is at the front or the back with
    equal odds, so a side's front cuts are binomial.
    """
    a_length, b_length = a_end - a_start, b_end - b_start
    excess = tf.maximum(a_length + b_length - max_num_tokens, 0)
    a_longer = a_length > b_length
    only_longer = excess <= tf.abs(a_length - b_length)
    none = tf.zeros_like(excess)
    a_cut = tf.where(only_longer, tf.where(a_longer, excess, none),
                     a_length - (max_num_tokens + 1) // 2)
    b_cut = tf.where(only_longer, tf.where(a_longer, none, excess),
                     b_length - max_num_tokens // 2)
    seeds = tf.random.experimental.stateless_split(seed, 2)
    a_front = _front_cuts(a_cut, seeds[0])
    b_front = _front_cuts(b_cut, seeds[1])
    return (a_start + a_front, a_end - (a_cut - a_front),
            b_start + b_front, b_end - (b_cut - b_front))


def _front_cuts(cuts, seed):
    counts = tf.cast(cuts, tf.float32)
    return tf.random.stateless_binomial(tf.shape(cuts), seed, counts, 0.5, tf.int64)
