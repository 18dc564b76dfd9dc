"""Learn a WordPiece vocabulary from raw text, for pre-training a BERT from scratch.

    python recipes/learn_vocabulary.py --input_pattern='corpus/*.txt' --output=vocab.txt
    python recipes/learn_vocabulary.py --input_pattern=wiki.txt --vocabulary_size=8000 --nolowercase

Reads text files (one sentence or paragraph per line; WikiExtractor's `<doc>` lines
are skipped), counts words after BERT's basic tokenization (lower-cased and
accent-stripped unless --nolowercase) with a progress bar, and learns the vocabulary
with TF Text's WordPiece learner: `[PAD]`, `[unused0..]`, `[UNK]`, `[CLS]`, `[SEP]`,
`[MASK]`, then the pieces. The file is written once complete; an existing one is
kept unless --overwrite. Then: `create_pretraining_data.py --vocab_file=<output>`.
"""

import glob
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

import common_flags  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("input_pattern", None, "Comma-separated globs of text files.",
                    required=True)
flags.DEFINE_string("output", "vocab.txt", "Where the vocabulary goes (one token per line).")
flags.DEFINE_integer("vocabulary_size", 30522, "Target size, reserved tokens included "
                     "(BERT's English vocabularies: 30,522 and 28,996).", lower_bound=200)
flags.DEFINE_bool("lowercase", True, "An uncased vocabulary (the tokenizer must match).")
flags.DEFINE_integer("num_unused", 99, "[unusedN] slots after [PAD] for tokens added later.",
                     lower_bound=0)
flags.DEFINE_bool("overwrite", False, "Replace an existing --output.")


UsageError = common_flags.UsageError


def run():
    files = sorted({f for pattern in FLAGS.input_pattern.split(",") if pattern
                    for f in glob.glob(pattern) if os.path.isfile(f)})
    if not files:
        raise UsageError(f"--input_pattern {FLAGS.input_pattern!r} matches no file")
    if os.path.exists(FLAGS.output) and not FLAGS.overwrite:
        raise UsageError(f"--output {FLAGS.output} exists; pass --overwrite or another path")
    if FLAGS.vocabulary_size <= FLAGS.num_unused + 5:
        raise UsageError(f"--vocabulary_size={FLAGS.vocabulary_size} leaves no room after "
                         f"the {FLAGS.num_unused + 5} reserved tokens")
    import keras_bert_repro as kbr

    print(f"Learning a {'lower-cased' if FLAGS.lowercase else 'cased'} vocabulary of about "
          f"{FLAGS.vocabulary_size:,} tokens from {len(files)} file(s).", flush=True)
    partial = FLAGS.output + ".incomplete"
    vocabulary = kbr.text.learn_vocabulary(files, FLAGS.vocabulary_size,
                                           lowercase=FLAGS.lowercase, output_path=partial,
                                           num_unused=FLAGS.num_unused)
    os.replace(partial, FLAGS.output)
    tokenizer = kbr.BertTokenizer(FLAGS.output, lowercase=FLAGS.lowercase)
    example = "Learning a vocabulary"
    pieces = [tokenizer.id_to_token(i) for i in tokenizer([example]).to_list()[0]]
    print(f"vocabulary -> {FLAGS.output} ({len(vocabulary):,} tokens); {example!r} -> "
          f"{pieces}", flush=True)


def main(argv):
    del argv
    run()


if __name__ == "__main__":
    common_flags.run(main)
