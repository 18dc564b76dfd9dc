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
"""

import tensorflow as tf
import tensorflow_text as tf_text
from tensorflow_text.python.ops.regex_split_ops import gen_regex_split_ops

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


def clean(text):
    """Steps 0 and 1 (all but the mapping of whitespace, which splitting does).
    Run it before any `regex_split`: that op stops at a NUL byte."""
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
    text = normalize(text, lowercase)
    keep = f"{PUNCTUATION}|{CJK}"
    return regex_split(text, f"{WHITESPACE}+|{keep}", keep)


def regex_split(text, pattern, keep=""):
    """`tf_text.regex_split`, the same op and result, minus the RaggedTensor
    validation it adds: 3 asserts per output, each a `cond`, which `tf.data.map`
    runs far slower than a `tf.function` does (~300 us a ragged tensor against
    ~30 us): they halved the tokenizer's speed in a Dataset. Ranks other than 1
    go to `tf_text.regex_split` as they are.

    >>> regex_split(tf.constant(["a, b"]), " +|,", ",")  # doctest: +SKIP
    <tf.RaggedTensor [[b'a', b',', b'b']]>
    """
    if text.shape.rank != 1:
        return tf_text.regex_split(text, pattern, keep)
    return regex_split_with_starts(text, pattern, keep)[0]


def regex_split_with_starts(text, pattern, keep=""):
    """`[batch]` strings -> ragged pieces `[batch, (pieces)]` and each piece's byte
    start within its text (flat), unvalidated as `regex_split`."""
    # The op wants the patterns grouped, as tf_text passes them (even an empty keep).
    tokens, starts, _, row_splits = gen_regex_split_ops.regex_split_with_offsets(
        text, f"({pattern})", f"({keep})")
    return tf.RaggedTensor.from_row_splits(tokens, row_splits, validate=False), starts
