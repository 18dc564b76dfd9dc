"""Next-sentence pairs as google-research/bert's create_pretraining_data.py makes
them, less the static masks: on token offsets, so that no token is touched in
Python.

A corpus is a flat array of token ids and a list of documents, each the token
offsets where its sentences start followed by where its last one ends
(sentence i of `document` is `tokens[document[i]:document[i + 1]]`). An
`Instance` is two token ranges, A and B, and `is_random_next`. The functions
draw from `rng` exactly the numbers the original's draw, in the same order, so
for the same documents and seed they give the original's pairs (had it not
drawn masks from the same generator).
"""

import collections
import os

import numpy as np
import tensorflow as tf

from keras_bert_repro.data.pretraining_documents import read_documents, tokenize_documents

Instance = collections.namedtuple(
    "Instance", ["a_start", "a_end", "b_start", "b_end", "is_random_next"])


def check_max_seq_length(max_seq_length):
    if max_seq_length < 5:
        raise ValueError(f"max_seq_length must be at least 5 ([CLS] A [SEP] B [SEP] with "
                         f"2 tokens of text), got {max_seq_length}.")


def read_corpus(files, tokenizer, format="auto"):
    """Text files -> `(tokens, documents)`: int32 token ids and, per document, its
    sentence offsets (see the module). Empty sentences and documents are dropped."""
    tokens, documents, offset = [], [], 0
    for path in files:
        ids = tokenize_documents(read_documents(tf.io.read_file(os.fspath(path)), format),
                                 tokenizer)
        tokens.append(ids.flat_values.numpy())
        bounds = (ids.values.row_splits.numpy() + offset).tolist()
        splits = ids.row_splits.numpy().tolist()
        documents += [bounds[start:end + 1] for start, end in zip(splits[:-1], splits[1:])]
        offset += len(tokens[-1])
    return np.concatenate(tokens) if tokens else np.zeros([0], np.int32), documents


def create_training_instances(all_documents, max_seq_length, dupe_factor, short_seq_prob,
                              rng):
    """All instances of a list of documents, as the original's function: the
    documents shuffled, `dupe_factor` passes over them, the instances shuffled."""
    check_max_seq_length(max_seq_length)
    all_documents = list(all_documents)
    rng.shuffle(all_documents)
    instances = []
    for _ in range(dupe_factor):
        for document_index in range(len(all_documents)):
            instances.extend(create_instances_from_document(
                all_documents, document_index, max_seq_length, short_seq_prob, rng))
    rng.shuffle(instances)
    return instances


def create_instances_from_document(all_documents, document_index, max_seq_length,
                                   short_seq_prob, rng):
    """The `Instance`s of one document, as the original's function."""
    document = all_documents[document_index]
    num_sentences = len(document) - 1
    max_num_tokens = max_seq_length - 3  # [CLS], [SEP], [SEP]
    # Usually fill the whole sequence, but short_seq_prob of the time aim
    # shorter, to lessen the mismatch with fine-tuning's short inputs.
    target_seq_length = max_num_tokens
    if rng.random() < short_seq_prob:
        target_seq_length = rng.randint(2, max_num_tokens)

    # A and B are cut at sentence boundaries, never at arbitrary tokens, which
    # would make next-sentence prediction too easy. The current chunk is
    # sentences chunk_start..i.
    instances = []
    chunk_start = 0
    i = 0
    while i < num_sentences:
        if i == num_sentences - 1 or document[i + 1] - document[chunk_start] >= target_seq_length:
            chunk_size = i + 1 - chunk_start
            # How many of the chunk's sentences go into A.
            a_sentences = 1
            if chunk_size >= 2:
                a_sentences = rng.randint(1, chunk_size - 1)
            a_start, a_end = document[chunk_start], document[chunk_start + a_sentences]
            if chunk_size == 1 or rng.random() < 0.5:
                is_random_next = True
                target_b_length = target_seq_length - (a_end - a_start)
                # Ten tries at a document other than this one.
                for _ in range(10):
                    random_document_index = rng.randint(0, len(all_documents) - 1)
                    if random_document_index != document_index:
                        break
                random_document = all_documents[random_document_index]
                j = rng.randint(0, len(random_document) - 2)
                b_start = random_document[j]
                # Whole sentences until B is long enough or the document ends.
                last = len(random_document) - 2
                while j < last and random_document[j + 1] - b_start < target_b_length:
                    j += 1
                b_end = random_document[j + 1]
                # The chunk's sentences after A were not used: put them back.
                i -= chunk_size - a_sentences
            else:
                is_random_next = False
                b_start, b_end = a_end, document[i + 1]
            instances.append(Instance(*truncate_seq_pair(
                a_start, a_end, b_start, b_end, max_num_tokens, rng), is_random_next))
            chunk_start = i + 1
        i += 1
    return instances


def truncate_seq_pair(a_start, a_end, b_start, b_end, max_num_tokens, rng):
    """The original's function on token ranges: cuts the longer side (B on ties)
    one token at a time, from its front or back at random, until both fit in
    `max_num_tokens`. Returns the cut ranges."""
    while (a_end - a_start) + (b_end - b_start) > max_num_tokens:
        cut_a = a_end - a_start > b_end - b_start
        # Sometimes the front, sometimes the back, to avoid biases.
        front = rng.random() < 0.5
        if cut_a:
            a_start, a_end = (a_start + 1, a_end) if front else (a_start, a_end - 1)
        else:
            b_start, b_end = (b_start + 1, b_end) if front else (b_start, b_end - 1)
    return a_start, a_end, b_start, b_end
