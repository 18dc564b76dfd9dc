"""Raw text -> TFRecord shards of next-sentence pairs for BERT pre-training.

    python recipes/create_pretraining_data.py --input_pattern='wiki/*/wiki_*' \
        --output_dir=data/pretraining --preset=bert_base_en_uncased --dupe_factor=5
    python recipes/create_pretraining_data.py --input_pattern=corpus/*.txt \
        --output_dir=data/pretraining --vocab_file=vocab.txt --max_seq_length=512

The original create_pretraining_data.py's instances without its static masks
(masking is dynamic, in tf.data). Input: the original format (one sentence per
line, a blank line between documents) or WikiExtractor's output; --format=auto
picks per file. For corpora whose blank lines separate paragraphs, not
documents (WikiText), say --format=paragraphs: read as lines they make
one-paragraph documents and almost only random next sentences (the run warns). Every --files_per_shard input files become one output shard,
made in parallel by --num_workers processes; a rerun with the same flags skips
the finished shards, so a killed run resumes. Read the shards with
`keras_bert_repro.data.pretraining.pretraining_dataset("<output_dir>/*.tfrecord")`.
"""

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

import common_flags  # noqa: E402

FLAGS = flags.FLAGS
common_flags.define_pretraining_input_flags(
    input_pattern_help="Glob pattern(s) of raw text files, comma-separated.",
    vocab_file_help="A WordPiece vocab.txt (or give --preset).",
    preset_help="Registry name or checkpoint directory whose vocabulary and casing to use.",
    max_seq_length_help="Longest instance, [CLS] and [SEP]s included.")
common_flags.define_output_flags(None, "Where the shards go (local or gs://).")
flags.DEFINE_bool("lowercase", None, "Lower-case and strip accents (uncased models); "
                  "default: from the preset, else inferred from the vocabulary.")
flags.DEFINE_float("short_seq_prob", 0.1, "How often a document aims at a shorter length.",
                  lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_integer("dupe_factor", 10, "Passes over the documents, each with other pairs.",
                     lower_bound=1)
common_flags.define_seed_flag(12345, "Random seed.")
flags.DEFINE_integer("num_workers", None, "Worker processes (default: one per CPU).",
                     lower_bound=1)
flags.DEFINE_integer("files_per_shard", 1, "Input files per output shard; random next "
                     "sentences come from the documents of the same shard.", lower_bound=1)
flags.DEFINE_enum("format", "auto", ["auto", "lines", "wikiextractor", "paragraphs"],
                  "Input format: auto (wikiextractor if a file starts with <doc, else lines); "
                  "paragraphs: blank lines separate paragraphs, '= Title =' lines start "
                  "documents (WikiText).")
flags.mark_flags_as_required(["input_pattern", "output_dir"])
common_flags.define_overwrite_flag()
flags.adopt_module_key_flags(common_flags)


def main(_):
    if (FLAGS.vocab_file is None) == (FLAGS.preset is None):
        raise common_flags.UsageError("Give one of --vocab_file and --preset.")
    import tensorflow as tf

    from keras_bert_repro.data.pretraining import create_pretraining_data
    from keras_bert_repro.text.tokenizer import BertTokenizer

    casing = {} if FLAGS.lowercase is None else {"lowercase": FLAGS.lowercase}
    if FLAGS.vocab_file:
        tokenizer = BertTokenizer(FLAGS.vocab_file, **casing)
    else:
        tokenizer = BertTokenizer.from_preset(FLAGS.preset, **casing)
    print(f"Vocabulary of {tokenizer.vocabulary_size:,} tokens, "
          f"{'lower-cased' if tokenizer.lowercase else 'cased'}.")
    if FLAGS.overwrite and tf.io.gfile.isdir(FLAGS.output_dir):
        for name in tf.io.gfile.listdir(FLAGS.output_dir):  # the shards and their manifest
            if name.startswith("pretraining"):
                tf.io.gfile.remove(os.path.join(FLAGS.output_dir, name))
    start = time.perf_counter()
    try:
        stats = create_pretraining_data(
            FLAGS.input_pattern, FLAGS.output_dir, tokenizer,
            max_seq_length=FLAGS.max_seq_length, short_seq_prob=FLAGS.short_seq_prob,
            dupe_factor=FLAGS.dupe_factor, seed=FLAGS.seed, format=FLAGS.format,
            files_per_shard=FLAGS.files_per_shard, num_workers=FLAGS.num_workers)
    except (ValueError, FileNotFoundError) as error:  # the settings or files given
        raise common_flags.UsageError(
            str(error).replace("empty it.", "pass --overwrite.")) from None
    seconds = time.perf_counter() - start
    print(stats)
    warning = stats.nsp_warning()
    if warning:
        print(warning, file=sys.stderr)
    print(f"{seconds:.1f} s, {stats.instances_made / seconds:,.0f} instances/s made.")


if __name__ == "__main__":
    common_flags.run(main)
