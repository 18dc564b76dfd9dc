"""learn_vocabulary: TF Text's WordPiece learner over BERT's own word splitting."""

import numpy as np
import pytest
import tensorflow as tf

import keras_bert_repro as kbr
from keras_bert_repro.text.vocabulary_learning import count_words
from tests.conftest import shared_data

# Pure TF / numpy: the same on every Keras backend, so `make test` runs it once.
pytestmark = pytest.mark.backend_independent


def wiki_lines(name, limit):
    with open(shared_data("wikipedia-sample", name), encoding="utf-8") as f:
        lines = [l.strip() for l in f if l.strip() and not l.startswith(("<doc", "</doc"))]
    return lines[:limit]


@pytest.fixture(scope="module")
def learned(tmp_path_factory):
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    data = tf.data.Dataset.from_tensor_slices(wiki_lines("enwiki-AA-wiki_00.txt", 300))
    vocab = kbr.text.learn_vocabulary(data, 1000, lowercase=True, output_path=str(path),
                                      num_iterations=2)
    return vocab, path


def test_reserved_tokens_sit_in_the_standard_positions(learned):
    vocab, path = learned
    assert vocab[0] == "[PAD]" and vocab[1] == "[unused0]" and vocab[99] == "[unused98]"
    assert vocab[100:104] == ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert 950 <= len(vocab) <= 1000  # within the learner's 5% slack
    assert path.read_text(encoding="utf-8").splitlines() == vocab
    assert len(set(vocab)) == len(vocab)


def test_learned_vocabulary_tokenizes_held_out_text(learned):
    vocab, path = learned
    tok = kbr.BertTokenizer(str(path))
    assert tok.lowercase  # inferred: the vocabulary has no capitals
    held_out = wiki_lines("enwiki-AD-wiki_50.txt", 200)
    ids = np.concatenate([np.asarray(r) for r in tok(held_out).to_list()])
    unk_rate = float(np.mean(ids == tok.unk_token_id))
    assert unk_rate < 0.01, unk_rate
    assert any(t.startswith("##") for t in vocab) and "the" in vocab


def test_files_skip_wikiextractor_markers(tmp_path):
    corpus = tmp_path / "wiki.txt"
    corpus.write_text('<doc id="1" url="u" title="T">\nHello World, hello!\n</doc>\n',
                      encoding="utf-8")
    counts = count_words([str(corpus)], lowercase=True)
    assert counts == {"hello": 2, "world": 1, ",": 1, "!": 1}


def test_errors_are_clear(tmp_path):
    with pytest.raises(ValueError, match="leaves no room"):
        kbr.text.learn_vocabulary(tf.data.Dataset.from_tensor_slices(["a"]), 50)
    with pytest.raises(FileNotFoundError, match="no such file"):
        kbr.text.learn_vocabulary([str(tmp_path / "missing.txt")], 1000)
