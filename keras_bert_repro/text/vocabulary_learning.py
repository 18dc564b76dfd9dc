"""Learning a WordPiece vocabulary from raw text with TF Text's learner."""

import collections
import os

import tensorflow as tf
from tqdm.auto import tqdm

from keras_bert_repro.text import basic_tokenizer


def reserved_tokens(num_unused=99):
    """BERT's standard head of the vocabulary: `[PAD]`=0, `[unused0..]`, then
    `[UNK]`, `[CLS]`, `[SEP]`, `[MASK]` (ids 100-103 with the default 99 unused)."""
    return (["[PAD]"] + [f"[unused{i}]" for i in range(num_unused)]
            + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"])


def _text_dataset(data):
    if isinstance(data, tf.data.Dataset):
        return data
    files = [data] if isinstance(data, (str, os.PathLike)) else list(data)
    missing = [f for f in files if not os.path.isfile(f)]
    if missing:
        raise FileNotFoundError(f"learn_vocabulary: no such file(s) {missing}.")
    lines = tf.data.TextLineDataset([os.fspath(f) for f in files])
    # WikiExtractor's <doc ...> and </doc> markers are not text.
    return lines.filter(lambda line: tf.logical_not(tf.strings.regex_full_match(
        line, r"\s*</?doc[ >].*|\s*</doc>\s*")))


def count_words(data, lowercase=True, batch_size=1024):
    """Word counts after BERT's basic tokenization, over files or a dataset of strings."""
    dataset = _text_dataset(data)
    if dataset.element_spec.shape.rank == 0:
        dataset = dataset.batch(batch_size)
    words = dataset.map(lambda t: basic_tokenizer.split_words(t, lowercase).flat_values,
                        num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    counts = collections.Counter()
    for batch in tqdm(words, desc="Counting words", unit=" batches"):
        counts.update(w.decode("utf-8") for w in batch.numpy())
    return counts


def learn_vocabulary(data, vocabulary_size, lowercase=True, output_path=None, num_unused=99,
                     **learn_params):
    """Learns a WordPiece vocabulary of about `vocabulary_size` tokens.

    TF Text's learner binary-searches a count threshold, so the size lands near
    the target (within its `slack_ratio` when the search converges; more
    `num_iterations` get closer) and is printed.

    Args:
        data: a text file, a list of files (one sentence or paragraph per line;
            WikiExtractor's `<doc>` lines are skipped), or a `tf.data.Dataset` of strings.
        vocabulary_size: the target size, reserved tokens included.
        lowercase: learn an uncased vocabulary (use the same for the tokenizer).
        output_path: if given, write the vocabulary there as `vocab.txt` lines.
        num_unused: `[unusedN]` slots kept after `[PAD]` for later additions.
        **learn_params: passed to TF Text's `wordpiece_tokenizer_learner_lib.learn`
            (e.g. `lower_thresh`, `max_unique_chars`).

    Returns:
        The vocabulary, a list of tokens.

    Example:
    >>> vocab = learn_vocabulary("corpus.txt", 8000, output_path="vocab.txt")  # doctest: +SKIP
    >>> tok = BertTokenizer("vocab.txt", lowercase=True)  # doctest: +SKIP
    """
    from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib as learner

    reserved = reserved_tokens(num_unused)
    if vocabulary_size <= len(reserved):
        raise ValueError(f"vocabulary_size={vocabulary_size} leaves no room after the "
                         f"{len(reserved)} reserved tokens.")
    counts = count_words(data, lowercase)
    if not counts:
        raise ValueError("learn_vocabulary: the data holds no words.")
    learn_params.setdefault("lower_thresh", 2)
    vocabulary = learner.learn(counts, vocabulary_size, reserved, **learn_params)
    print(f"Learned {len(vocabulary)} WordPiece tokens (target {vocabulary_size}) from "
          f"{len(counts):,} distinct words.")
    if output_path:
        os.makedirs(os.path.dirname(os.path.abspath(output_path)), exist_ok=True)
        with open(output_path, "w", encoding="utf-8") as f:
            f.write("".join(token + "\n" for token in vocabulary))
    return vocabulary
