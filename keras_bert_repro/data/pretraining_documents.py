"""Raw pre-training text -> documents of sentences, in TF ops (also inside tf.data);
and the listing of input files.

Two input formats:
- "lines": the original BERT format, one sentence per line, a blank line between
  documents.
- "wikiextractor": WikiExtractor's output, each article between `<doc ...>` and
  `</doc>`, one paragraph per line. The title line right after `<doc ...>` is
  dropped when it equals the `title="..."` attribute (it is a heading, not a
  sentence; NVIDIA's BERT wiki preprocessing drops it too), and paragraphs are
  split into sentences by `split_sentences`.
- "paragraphs": one paragraph per line and blank lines between paragraphs, not
  documents (WikiText's layout). A heading line `= Title =` starts a document,
  section headings (`= = Section = =`, deeper too) are dropped, and a file
  without title headings is one document. Paragraphs are split into sentences.
  (Read as "lines", such a corpus makes one-paragraph documents and almost
  only random next sentences.)
"""

import os

import tensorflow as tf

FORMATS = ("auto", "lines", "wikiextractor", "paragraphs")

# Python's str.strip() whitespace (what the original script strips), in RE2 terms.
_SPACE = r"[\s\pZ\x0b\x1c-\x1f\x85]"
# A sentence ends at . ! or ? (with closing quotes or brackets) followed by
# whitespace and something that opens a sentence: a capital, a digit, or an
# opening quote or bracket before one.
_BOUNDARY = r"([.!?]+[\"'\x{201D}\x{2019})\]]*)\s+([\"'\x{201C}\x{2018}(\[]*[\p{Lu}\p{N}])"
# Periods that end no sentence: titles and common abbreviations, and single
# capitals (initials as in "J. R. R. Tolkien", "U.S. Army").
_ABBREVIATIONS = (
    "Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|Mt|Ft|Gen|Col|Lt|Sgt|Capt|Cmdr|Adm|Gov|Sen|Rep|Rev|Hon|"
    "Pres|Inc|Ltd|Co|Corp|Bros|No|Nos|Vol|Vols|Ch|Fig|Figs|Eq|Ed|Eds|pp|p|vs|v|cf|al|etc|c|"
    "ca|approx|e\\.g|i\\.e|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|\\p{Lu}")
_NO_BOUNDARY = r"\b(" + _ABBREVIATIONS + r")\.\n"


def split_sentences(paragraphs):
    """Paragraphs `[n]` -> ragged `[n, (sentences)]`, split with regular expressions.

    A rule-based splitter (RE2, so it runs in any TF graph): it breaks after
    `.`, `!` or `?` (and closing quotes or brackets) when whitespace and a
    capital, digit or opening quote follows, except after common abbreviations
    and single capitals. TF Text's `StateBasedSentenceBreaker` was not used: it
    breaks inside "i.e." and after every abbreviation, which the paragraphs of
    Wikipedia are full of.

    Example:
    >>> split_sentences(["Dr. Who met J. Smith in 1990. He said: \\"No.\\" Then left."])
    <tf.RaggedTensor [[b'Dr. Who met J. Smith in 1990.', b'He said: "No."', b'Then left.']]>
    """
    paragraphs = tf.convert_to_tensor(paragraphs, tf.string)
    # Paragraphs are single lines, so a newline can mark the breaks.
    marked = tf.strings.regex_replace(paragraphs, _BOUNDARY, "\\1\n\\2")
    marked = tf.strings.regex_replace(marked, _NO_BOUNDARY, "\\1. ")
    return tf.strings.split(marked, "\n")


def read_documents(text, format="auto"):
    """The text of one file (a scalar string) -> ragged `[docs, (sentences)]`.

    Lines are stripped as Python's `str.strip` does; blank lines never make
    sentences; documents without sentences are dropped. Invalid UTF-8 bytes are
    dropped, as the original script's decoding did. `format="auto"` picks
    "wikiextractor" when the text starts with `<doc`, else "lines" ("paragraphs"
    is never guessed: say it).
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}.")
    text = tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="ignore")
    if format == "lines":
        return _read_lines_format(text)
    if format == "wikiextractor":
        return _read_wikiextractor_format(text)
    if format == "paragraphs":
        return _read_paragraphs_format(text)
    head = tf.strings.substr(text, 0, 4096)
    return tf.cond(tf.strings.regex_full_match(head, r"(?s)\s*<doc[\s>].*"),
                   lambda: _read_wikiextractor_format(text),
                   lambda: _read_lines_format(text))


def _stripped_lines(text):
    lines = tf.strings.split(text, "\n")
    return tf.strings.regex_replace(lines, f"^{_SPACE}+|{_SPACE}+$", "")


def _documents(sentences, doc_ids):
    """Sentences and their (non-decreasing) document ids -> ragged `[docs, (sentences)]`,
    numbering documents consecutively so that ids without sentences make no row."""
    _, rows = tf.unique(doc_ids)
    return tf.RaggedTensor.from_value_rowids(sentences, tf.cast(rows, tf.int64))


def _read_lines_format(text):
    lines = _stripped_lines(text)
    blank = tf.equal(lines, "")
    doc_ids = tf.cumsum(tf.cast(blank, tf.int64))
    keep = tf.logical_not(blank)
    return _documents(tf.boolean_mask(lines, keep), tf.boolean_mask(doc_ids, keep))


def _read_wikiextractor_format(text):
    lines = _stripped_lines(text)
    is_start = tf.strings.regex_full_match(lines, r"<doc[\s>].*")
    is_end = tf.equal(lines, "</doc>")
    starts = tf.cumsum(tf.cast(is_start, tf.int64))
    inside = starts > tf.cumsum(tf.cast(is_end, tf.int64))
    previous = tf.concat([[""], lines[:-1]], axis=0)
    after_start = tf.concat([[False], is_start[:-1]], axis=0)
    title = _unescape(tf.strings.regex_replace(previous, r'.*\btitle="([^"]*)".*', "\\1"))
    is_title = tf.logical_and(after_start, tf.equal(lines, title))
    keep = inside & ~is_start & ~is_title & tf.not_equal(lines, "")
    sentences = split_sentences(tf.boolean_mask(lines, keep))
    doc_ids = tf.repeat(tf.boolean_mask(starts, keep), sentences.row_lengths())
    return _documents(sentences.flat_values, doc_ids)


def _read_paragraphs_format(text):
    lines = _stripped_lines(text)
    is_heading = tf.strings.regex_full_match(lines, r"(= )+\S.*?( =)+")
    is_title = tf.strings.regex_full_match(lines, r"= [^=].* =") & is_heading
    doc_ids = tf.cumsum(tf.cast(is_title, tf.int64))
    keep = tf.logical_not(is_heading) & tf.not_equal(lines, "")
    sentences = split_sentences(tf.boolean_mask(lines, keep))
    doc_ids = tf.repeat(tf.boolean_mask(doc_ids, keep), sentences.row_lengths())
    return _documents(sentences.flat_values, doc_ids)


def _unescape(text):
    """Undoes the XML escaping WikiExtractor applies to attribute values."""
    for escaped, plain in (("&quot;", '"'), ("&#039;", "'"), ("&lt;", "<"), ("&gt;", ">"),
                           ("&amp;", "&")):
        text = tf.strings.regex_replace(text, escaped, plain)
    return text


def tokenize_documents(documents, tokenizer):
    """Ragged `[docs, (sentences)]` strings -> ragged `[docs, (sentences), (ids)]` int32.

    As the original script: sentences without tokens are dropped, then documents
    without sentences.
    """
    ids = tokenizer(documents.flat_values)
    ids = tf.RaggedTensor.from_row_splits(ids, documents.row_splits, validate=False)
    ids = tf.ragged.boolean_mask(ids, ids.row_lengths(axis=2) > 0)
    return tf.ragged.boolean_mask(ids, ids.row_lengths() > 0)


def list_files(file_pattern):
    """Sorted files matching a pattern, a comma-separated list of them, or a list;
    raises FileNotFoundError naming the patterns that match nothing."""
    patterns = file_pattern.split(",") if isinstance(file_pattern, str) else list(file_pattern)
    files, unmatched = [], []
    for pattern in patterns:
        matches = tf.io.gfile.glob(os.fspath(pattern))
        files.extend(matches)
        if not matches:
            unmatched.append(os.fspath(pattern))
    if unmatched:
        raise FileNotFoundError(f"No files match {', '.join(map(repr, unmatched))}.")
    return sorted(set(files))
