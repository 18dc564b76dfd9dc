"""The original BERT tokenization, in plain Python, as the oracle for BertTokenizer.

Written from the algorithm of google-research/bert's tokenization.py
(BasicTokenizer + WordpieceTokenizer), independently of the library's TF code.
"""

import unicodedata

MAX_INPUT_CHARS_PER_WORD = 200


def _is_whitespace(char):
    return char in " \t\n\r" or unicodedata.category(char) == "Zs"


def _is_control(char):
    if char in "\t\n\r":
        return False
    return unicodedata.category(char) in ("Cc", "Cf")


def _is_punctuation(char):
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_chinese_char(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def _clean_text(text):
    out = []
    for char in text:
        cp = ord(char)
        if cp == 0 or cp == 0xFFFD or _is_control(char):
            continue
        out.append(" " if _is_whitespace(char) else char)
    return "".join(out)


def _tokenize_chinese_chars(text):
    return "".join(f" {c} " if _is_chinese_char(ord(c)) else c for c in text)


def _strip_accents(text):
    return "".join(c for c in unicodedata.normalize("NFD", text)
                   if unicodedata.category(c) != "Mn")


def _split_on_punc(text):
    out, start_new = [], True
    for char in text:
        if _is_punctuation(char):
            out.append([char])
            start_new = True
        else:
            if start_new:
                out.append([])
            start_new = False
            out[-1].append(char)
    return ["".join(x) for x in out]


def basic_tokenize(text, lowercase):
    text = _tokenize_chinese_chars(_clean_text(text))
    split = []
    for token in text.strip().split():
        if lowercase:
            token = _strip_accents(token.lower())
        split.extend(_split_on_punc(token))
    return " ".join(split).strip().split()


def wordpiece(word, vocab, unk="[UNK]"):
    if len(word) > MAX_INPUT_CHARS_PER_WORD:
        return [unk]
    pieces, start = [], 0
    while start < len(word):
        end, found = len(word), None
        while start < end:
            piece = word[start:end]
            if start > 0:
                piece = "##" + piece
            if piece in vocab:
                found = piece
                break
            end -= 1
        if found is None:
            return [unk]
        pieces.append(found)
        start = end
    return pieces


class FullTokenizer:
    def __init__(self, vocab_tokens, lowercase):
        self.vocab = {t: i for i, t in enumerate(vocab_tokens)}
        self.lowercase = lowercase

    def tokenize(self, text):
        return [p for w in basic_tokenize(text, self.lowercase) for p in wordpiece(w, self.vocab)]

    def ids(self, text):
        return [self.vocab[p] for p in self.tokenize(text)]


def truncate_seq_pair(tokens_a, tokens_b, max_num_tokens):
    """The release's _truncate_seq_pair (fine-tuning flavour: pop from the end)."""
    a, b = list(tokens_a), list(tokens_b)
    while len(a) + len(b) > max_num_tokens:
        if len(a) > len(b):
            a.pop()
        else:
            b.pop()
    return a, b
