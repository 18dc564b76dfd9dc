"""The original BERT BasicTokenizer as TF ops: text -> words, before WordPiece.

Follows `tokenization.py` of google-research/bert step by step:
0. decode as UTF-8, invalid bytes becoming U+FFFD (the original decodes with
   errors="ignore": the same words, since U+FFFD is dropped next);
1. drop NUL, U+FFFD and control/format characters (Cc, Cf; tab, newline and
   CR are whitespace), and map every whitespace character to a space;
2. put spaces around CJK ideographs so each is a word;
3. uncased: lower-case (Python's `str.lower`), NFD, drop combining marks (Mn);
4. split on whitespace and on punctuation (Unicode P* and the ASCII symbol
   ranges), punctuation kept as one-character words.
TF Text's `lower_case_nfd_strip_accents` is not used: its NFKC case folding
changes ligatures, full-width forms, `ß` and superscripts that BERT keeps.

Step 4 is not `tf_text.regex_split`: its RaggedTensor validation (asserts in
`cond`s, ~0.3 ms each inside `tf.data.map` against ~30 us in a `tf.function`)
halved the tokenizer's speed in a Dataset; rebuilding its result unvalidated
keeps them (they guard the row splits it returns), and its unvalidated op is
private to TF Text. Core string ops, whose ragged results are unvalidated, do
the same split (faster on long texts): `regex_replace` puts spaces around
punctuation and CJK characters and turns the other whitespace into spaces, then
`tf.strings.split` cuts at ASCII whitespace, the only whitespace left (cleaning
dropped vertical tab and form feed). `split_around` marks its cuts with NUL.
"""

import tensorflow as tf
import tensorflow_text as tf_text

# Whitespace as the original sees it: " ", \t, \n, \r and Unicode Zs; Python's
# str.split() then also splits on the line/paragraph separators U+2028/U+2029.
_SPACE_CHARS = r"\t\n\r\p{Zs}\x{2028}\x{2029}"
WHITESPACE = rf"[{_SPACE_CHARS}]"
# NUL, U+FFFD, Cc and Cf are dropped; \t, \n and \r are Cc in Unicode but
# whitespace for BERT, so the Cc ranges are spelled out without them.
DROPPED = (r"[\x{0000}-\x{0008}\x{000B}\x{000C}\x{000E}-\x{001F}\x{007F}-\x{009F}"
           r"\x{FFFD}]|\p{Cf}")
# ASCII 33-47, 58-64, 91-96, 123-126 count as punctuation, as do all of P*.
PUNCTUATION = r"[!-/:-@\[-`{-~]|\p{P}"
# The CJK Unified Ideographs blocks that `_is_chinese_char` lists.
CJK = (r"[\x{4E00}-\x{9FFF}\x{3400}-\x{4DBF}\x{20000}-\x{2A6DF}\x{2A700}-\x{2B73F}"
       r"\x{2B740}-\x{2B81F}\x{2B820}-\x{2CEAF}\x{F900}-\x{FAFF}\x{2F800}-\x{2FA1F}]")
MAX_CHARS_PER_WORD = 200  # the released code's max_input_chars_per_word
# Plain ASCII, on which the original algorithm reduces to lower-casing, a split
# on whitespace and ASCII punctuation, and WordPiece.
ASCII_TEXT = r"[\t\n\r\x20-\x7E]*"
# A whitespace-delimited token holding any character outside ASCII_TEXT.
NON_ASCII_TOKEN = rf"[^{_SPACE_CHARS}]*[^\t\n\r\x20-\x7E][^{_SPACE_CHARS}]*"
# Punctuation and CJK ideographs: each one character, a word of its own.
KEEP = f"{PUNCTUATION}|{CJK}"
# The whitespace other than \t, \n, \r and " ": Zs outside ASCII ([^\P{Zs}...] is
# Zs minus the ranges listed), U+2028 and U+2029.
_OTHER_SPACE = r"[^\P{Zs}\x00-\x7F]|[\x{2028}\x{2029}]"
# All whitespace but " ", by UTF-8 length, each with as many spaces, so that
# replacing them keeps byte offsets (no Zs takes 4 bytes; a test checks).
_SPACES_OF_SAME_LENGTH = (
    (r"[\t\n\r]", " "),
    (r"[^\P{Zs}\x00-\x7F\x{800}-\x{10FFFF}]", "  "),
    (r"[^\P{Zs}\x00-\x{7FF}\x{10000}-\x{10FFFF}]|[\x{2028}\x{2029}]", "   "),
)


def clean(text):
    """Steps 0 and 1 (all but the mapping of whitespace, which splitting does).
    What it returns holds no NUL, vertical tab or form feed, as `split_normalized` needs."""
    text = tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="replace",
                                        replacement_char=0xFFFD)
    return tf.strings.regex_replace(text, DROPPED, "")


def normalize(text, lowercase):
    """Steps 0, 1 and 3 on a string tensor of any shape."""
    text = clean(text)
    if lowercase:
        text = tf.strings.lower(text, encoding="utf-8")
        text = tf_text.normalize_utf8(text, "NFD")
        text = tf.strings.regex_replace(text, r"\p{Mn}", "")
    return text


def split_words(text, lowercase):
    """A string tensor `[batch]` -> ragged words `[batch, (words)]`."""
    return split_normalized(normalize(text, lowercase))


def split_normalized(text):
    """Step 4 on `normalize`d text: `[batch]` -> ragged words `[batch, (words)]`,
    as `tf_text.regex_split(text, f"{WHITESPACE}+|{KEEP}", KEEP)` gives them (see
    the module docstring). Ranks other than 1 go to `tf_text.regex_split`.

    >>> split_normalized(tf.constant(["a, b"]))  # doctest: +SKIP
    <tf.RaggedTensor [[b'a', b',', b'b']]>
    """
    if text.shape.rank != 1:
        return tf_text.regex_split(text, f"{WHITESPACE}+|{KEEP}", KEEP)
    text = tf.strings.regex_replace(text, _OTHER_SPACE, " ")
    return _split(tf.strings.regex_replace(text, KEEP, r" \0 "))


def split_normalized_with_starts(text):
    """`split_normalized` of `[batch]` texts and each word's byte start within its
    text (flat int64).

    The whitespace becomes spaces of the same byte length, so the text split at
    single spaces gives runs of non-space bytes at known offsets; the words tile
    these runs in order, so a word's start is its run's plus the bytes of the
    words before it in the run (positions counted over the batch's non-space
    bytes, where each word falls in exactly one run)."""
    for pattern, spaces in _SPACES_OF_SAME_LENGTH:
        text = tf.strings.regex_replace(text, pattern, spaces)
    words = _split(tf.strings.regex_replace(text, KEEP, r" \0 "))
    runs = _split(text, " ")  # "" between two spaces
    run_bytes = _byte_length(runs.values)
    run_ends = tf.cumsum(run_bytes)
    word_starts = tf.cumsum(_byte_length(words.values), exclusive=True)
    run = tf.searchsorted(run_ends, word_starts, side="right", out_type=tf.int64)
    run_starts = tf.cumsum(run_bytes + 1, exclusive=True)  # + 1: the space after
    run_starts -= tf.gather(run_starts, tf.gather(runs.row_splits, runs.value_rowids()))
    return words, (tf.gather(run_starts, run) + word_starts
                   - tf.gather(run_ends - run_bytes, run))


def split_around(text, pattern):
    """`[batch]` strings without NUL -> ragged pieces `[batch, (pieces)]`: each
    match of `pattern` and the text between matches, as `tf_text.regex_split(text,
    pattern, pattern)` (see the module docstring), plus an empty piece where a
    text starts or ends with a match (and between adjacent matches)."""
    marked = tf.strings.regex_replace(text, pattern, "\x00\\0\x00")
    _, pieces, _ = tf.raw_ops.StringSplitV2(input=marked, sep="\x00")
    # A text cut at n NULs gives n + 1 pieces, and the NULs are the added bytes.
    row_lengths = tf.strings.length(marked) - tf.strings.length(text) + 1
    return tf.RaggedTensor.from_row_lengths(pieces, tf.cast(row_lengths, tf.int64),
                                            validate=False)


def _split(text, sep=""):
    """`tf.strings.split(text, sep or None)` of `[batch]` strings in fewer ops: the
    wrapper builds its ragged result with a bincount and a dozen shape ops, which
    `tf.data` prepares anew for each iterator (~3 ms an epoch on 2 cores) and an
    eager call runs one by one."""
    indices, pieces, _ = tf.raw_ops.StringSplitV2(input=text, sep=sep)
    rows = indices[:, 0]
    row_lengths = tf.math.unsorted_segment_sum(tf.ones_like(rows), rows,
                                               tf.size(text, out_type=tf.int64))
    return tf.RaggedTensor.from_row_lengths(pieces, row_lengths, validate=False)


def _byte_length(strings):
    return tf.cast(tf.strings.length(strings, unit="BYTE"), tf.int64)
