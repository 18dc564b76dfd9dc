"""Pre-training data: raw text -> documents -> next-sentence instances -> TFRecords,
and the streaming path, on real Wikipedia text (WikiExtractor's output)."""

import collections
import os
import random
import re

import numpy as np
import pytest
import tensorflow as tf

from keras_bert_repro.data.pretraining import (
    create_pretraining_data, parse_pretraining_example, pretraining_dataset,
    serialize_instances)
from keras_bert_repro.data.pretraining_documents import (
    read_documents, split_sentences, tokenize_documents)
from keras_bert_repro.data.pretraining_instances import (
    Instance, create_training_instances, read_corpus, truncate_seq_pair)
from keras_bert_repro.data.pretraining_streaming import (
    _truncate_seq_pairs, _unpad, group_instances, streaming_pretraining_dataset)
from keras_bert_repro.text.tokenizer import BertTokenizer
from tests.conftest import shared_data

pytestmark = pytest.mark.backend_independent
MAX_SEQ_LENGTH = 128
NGRAM = 12  # token n-grams that place a piece of text in its document


@pytest.fixture(scope="module")
def tokenizer():
    return BertTokenizer(str(shared_data("vocab", "bert-base-uncased-vocab.txt")))


@pytest.fixture(scope="module")
def wiki_files(tmp_path_factory):
    """Two slices of WikiExtractor files: 40 and 30 articles, as written."""
    folder = tmp_path_factory.mktemp("wiki")
    files = []
    for name, num_docs in (("enwiki-AD-wiki_00.txt", 40), ("enwiki-AC-wiki_50.txt", 30)):
        text = shared_data("wikipedia-sample", name).read_text(encoding="utf-8")
        ends = [m.end() for m in re.finditer("</doc>\n", text)]
        files.append(folder / name)
        files[-1].write_text(text[:ends[num_docs - 1]], encoding="utf-8")
    return files


@pytest.fixture(scope="module")
def made(tmp_path_factory, wiki_files, tokenizer):
    """Shards made from the two slices (one each), with their statistics."""
    output = tmp_path_factory.mktemp("shards")
    stats = create_pretraining_data([str(f) for f in wiki_files], str(output), tokenizer,
                                    dupe_factor=2, seed=7, num_workers=1, progress=False)
    return output, stats


def read_shards(pattern):
    return as_numpy(pretraining_dataset(pattern, shuffle=False, batch_size=4096))


def as_numpy(batches):
    """Batches of instances -> a list of dicts of numpy arrays (faster than unbatching)."""
    instances = []
    for batch in batches:
        columns = {k: v.numpy() if isinstance(v, tf.Tensor) else
                   np.split(v.flat_values.numpy(), v.row_splits.numpy()[1:-1])
                   for k, v in batch.items()}
        instances += [{k: v[i] for k, v in columns.items()}
                      for i in range(len(columns["is_random_next"]))]
    return instances


def token_lists(tokens, documents):
    """A corpus as documents of sentences of token ids (lists)."""
    return [[tokens[start:end].tolist() for start, end in zip(d[:-1], d[1:])]
            for d in documents]


def document_of_ngrams(files, tokenizer):
    """n-gram of token ids -> the one document holding it (ambiguous ones left out)."""
    owner = {}
    tokens, documents = read_corpus(files, tokenizer)
    for index, document in enumerate(documents):
        tokens_of_document = tokens[document[0]:document[-1]].tolist()
        for i in range(len(tokens_of_document) - NGRAM + 1):
            key = tuple(tokens_of_document[i:i + NGRAM])
            owner[key] = index if owner.get(key, index) == index else None
    return owner


def check_instances(instances, tokenizer, files, max_seq_length):
    """Layout, lengths, NSP balance, and where A and B come from."""
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    owner = document_of_ngrams(files, tokenizer)
    same_document = collections.Counter()
    lengths = []
    for x in instances:
        ids, segments = list(x["token_ids"]), list(x["segment_ids"])
        lengths.append(len(ids))
        assert len(ids) == len(segments) <= max_seq_length
        seps = [i for i, t in enumerate(ids) if t == sep_id]
        assert ids[0] == cls_id and ids.count(cls_id) == 1
        assert len(seps) == 2 and seps[1] == len(ids) - 1 and 1 < seps[0] < seps[1] - 1
        assert segments == [0] * (seps[0] + 1) + [1] * (len(ids) - seps[0] - 1)
        a_doc = owner.get(tuple(ids[1:1 + NGRAM])) if seps[0] > NGRAM else None
        b_doc = owner.get(tuple(ids[seps[0] + 1:seps[0] + 1 + NGRAM]))
        if a_doc is not None and b_doc is not None and seps[1] - seps[0] > NGRAM:
            same_document[(int(x["is_random_next"]), a_doc == b_doc)] += 1
    # Random-next B always from another document, the actual next from the same.
    assert same_document[(1, True)] == 0 and same_document[(0, False)] == 0
    assert same_document[(1, False)] > 200 and same_document[(0, True)] > 200
    # Half, plus half of the one-sentence chunks, which always take a random B
    # (as in the original).
    random_next = np.mean([x["is_random_next"] for x in instances])
    assert len(instances) > 2000 and 0.49 < random_next < 0.6, random_next
    # Most fill the sequence; short_seq_prob makes some much shorter.
    lengths = np.array(lengths)
    assert np.mean(lengths >= max_seq_length - 5) > 0.5
    assert 0.005 < np.mean(lengths < max_seq_length // 2) < 0.3


def test_split_sentences():
    paragraph = ('Dr. Smith met J. R. R. Tolkien in the U.S. Army in 1941. "Why?" he asked. '
                 '(It was 3.5 km away, e.g. near St. Louis.) 1942 was worse! it stayed, etc.')
    assert split_sentences([paragraph]).to_list() == [[
        b"Dr. Smith met J. R. R. Tolkien in the U.S. Army in 1941.", b'"Why?" he asked.',
        b"(It was 3.5 km away, e.g. near St. Louis.)", b"1942 was worse! it stayed, etc."]]


def test_read_documents_in_both_formats():
    wiki = ('<doc id="1" url="u" title="AT&amp;T">\nAT&T\n\nFirst one. Second one.\n'
            'Heading.\n</doc>\nstray line\n<doc id="2" url="u" title="B">\nNot the title\n'
            'Text here.\n</doc>\n<doc id="3" title="Empty">\nEmpty\n\n</doc>\n')
    expected = [[b"First one.", b"Second one.", b"Heading."], [b"Not the title", b"Text here."]]
    assert read_documents(wiki, "wikiextractor").to_list() == expected
    assert read_documents(wiki).to_list() == expected  # auto
    lines = "\n \nSent one.\r\n  Sent two. Still two.\n\n\n\u3000\nOther doc.\n"
    expected = [[b"Sent one.", b"Sent two. Still two."], [b"Other doc."]]
    assert read_documents(lines, "lines").to_list() == expected
    assert read_documents(lines).to_list() == expected
    with pytest.raises(ValueError, match="format"):
        read_documents(lines, "xml")
    wikitext = (" \n = Lobster = \n \n It is big . It is blue .\n \n = = Description = = \n"
                " \n Second one here . Done !\n = = = Deep = = = \n Third .\n \n = Crab = \n"
                " \n Crabs walk . Sideways .\n")
    assert read_documents(wikitext, "paragraphs").to_list() == [
        [b"It is big .", b"It is blue .", b"Second one here .", b"Done !", b"Third ."],
        [b"Crabs walk .", b"Sideways ."]]
    assert read_documents("One. Two.\n\nThree.\n", "paragraphs").to_list() == [
        [b"One.", b"Two.", b"Three."]]  # no title headings: the file is one document


def test_instances_are_the_original_algorithm(wiki_files, tokenizer):
    tokens, documents = read_corpus([wiki_files[1]], tokenizer)
    ours = create_training_instances(documents[:12], 64, 2, 0.3, random.Random(3))
    theirs = original_training_instances(token_lists(tokens, documents[:12]), 64, 2, 0.3,
                                         random.Random(3))
    assert len(ours) > 100
    assert [(tokens[i.a_start:i.a_end].tolist(), tokens[i.b_start:i.b_end].tolist(),
             i.is_random_next) for i in ours] == theirs


def test_made_shards(made, wiki_files, tokenizer):
    output, stats = made
    instances = read_shards(str(output / "*.tfrecord"))
    assert sorted(os.listdir(output)) == [
        "pretraining-00000-of-00002.tfrecord", "pretraining-00001-of-00002.tfrecord",
        "pretraining_data.json"]
    assert stats.instances == len(instances) and stats.skipped_shards == 0
    assert stats.random_next == sum(x["is_random_next"] for x in instances)
    assert stats.instances_made == stats.instances
    # Articles with text below their title line (some are a title only).
    assert stats.documents_made == sum(
        bool(body.strip()) for f in wiki_files
        for body in re.findall(r"<doc [^\n]*>\n[^\n]*\n(.*?)</doc>", f.read_text(), re.S))
    check_instances(instances, tokenizer, wiki_files, MAX_SEQ_LENGTH)


def test_same_seed_same_shards_and_resume(made, wiki_files, tokenizer, tmp_path, capsys):
    reference, _ = made
    names = ["pretraining-00000-of-00002.tfrecord", "pretraining-00001-of-00002.tfrecord"]
    args = dict(dupe_factor=2, seed=7, progress=False)
    inputs = [str(f) for f in wiki_files]
    # A killed run: shard 0 complete, shard 1 half-written under its temporary name.
    (tmp_path / names[0]).write_bytes((reference / names[0]).read_bytes())
    (tmp_path / (names[1] + ".incomplete")).write_bytes(b"partial")
    (tmp_path / "pretraining_data.json").write_bytes(
        (reference / "pretraining_data.json").read_bytes())
    before = os.stat(tmp_path / names[0]).st_mtime_ns
    stats = create_pretraining_data(inputs, str(tmp_path), tokenizer, num_workers=1, **args)
    assert "Skipping 1 of 2 shards" in capsys.readouterr().out
    assert os.stat(tmp_path / names[0]).st_mtime_ns == before
    assert stats.skipped_shards == 1 and stats.instances == made[1].instances
    assert 0 < stats.instances_made < stats.instances
    assert sorted(os.listdir(tmp_path)) == sorted(os.listdir(reference))
    for name in names:
        assert (tmp_path / name).read_bytes() == (reference / name).read_bytes()
    with pytest.raises(ValueError, match="dupe_factor"):
        create_pretraining_data(inputs, str(tmp_path), tokenizer, num_workers=1,
                                **{**args, "dupe_factor": 3})


def test_lines_format_and_clear_errors(tokenizer, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(f"Document {d} sentence {s} says {d * s} things.\n"
                              + ("\n" if s == 9 else "") for d in range(20) for s in range(10)))
    stats = create_pretraining_data(str(corpus), str(tmp_path / "out"), tokenizer,
                                    max_seq_length=32, dupe_factor=3, num_workers=1,
                                    progress=False)
    assert stats.documents_made == 20 and stats.instances > 100
    for x in read_shards(str(tmp_path / "out" / "*.tfrecord")):
        assert len(x["token_ids"]) <= 32
    with pytest.raises(FileNotFoundError, match="No files match 'nowhere/\\*.txt'"):
        create_pretraining_data("nowhere/*.txt", str(tmp_path / "x"), tokenizer)
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(ValueError, match="No text in .*empty.txt"):
        create_pretraining_data(str(tmp_path / "empty.txt"), str(tmp_path / "y"), tokenizer,
                                num_workers=1, progress=False)
    with pytest.raises(ValueError, match="max_seq_length"):
        create_pretraining_data(str(corpus), str(tmp_path / "z"), tokenizer, max_seq_length=4)


def test_parse_round_trip_and_batches(made, tokenizer):
    tokens = np.array([5, 6, 7, 8, 9, 10, 11, 20000, 3_000_000], np.int32)
    instances = [Instance(2, 5, 5, 7, True), Instance(7, 9, 0, 1, False)]
    serialized = serialize_instances(tokens, instances, 101, 102)
    expected = [([101, 7, 8, 9, 102, 10, 11, 102], [0, 0, 0, 0, 0, 1, 1, 1], 1),
                ([101, 20000, 3_000_000, 102, 5, 102], [0, 0, 0, 0, 1, 1], 0)]
    for example, (token_ids, segment_ids, label) in zip(serialized, expected):
        # The bytes of protobuf's own (deterministic) serialization.
        feature = {"token_ids": token_ids, "segment_ids": segment_ids, "is_random_next": [label]}
        assert example == tf.train.Example(features=tf.train.Features(feature={
            k: tf.train.Feature(int64_list=tf.train.Int64List(value=v))
            for k, v in feature.items()})).SerializeToString(deterministic=True)
        parsed = parse_pretraining_example(example)
        assert {k: v.numpy().tolist() for k, v in parsed.items()} == {
            "token_ids": token_ids, "segment_ids": segment_ids, "is_random_next": label}
        assert all(v.dtype == tf.int32 for v in parsed.values())
    output, stats = made
    batch = next(iter(pretraining_dataset(str(output / "*.tfrecord"), batch_size=16, seed=1)))
    assert isinstance(batch["token_ids"], tf.RaggedTensor)
    assert batch["token_ids"].shape[0] == 16 and batch["is_random_next"].shape == (16,)
    count = sum(int(b["is_random_next"].shape[0]) for b in pretraining_dataset(
        str(output / "*.tfrecord"), batch_size=512))
    assert count == stats.instances


def test_shard_batches_feed_the_pretraining_preprocessor(made, tokenizer):
    """What pretrain_tpu.py does: parsed batches (int32 ragged rows) -> masked batches."""
    from keras_bert_repro.text.pretraining_preprocessor import BertPretrainingPreprocessor

    output, _ = made
    pre = BertPretrainingPreprocessor(tokenizer, sequence_length=MAX_SEQ_LENGTH, seed=3)
    batches = pre.dataset(pretraining_dataset(str(output / "*.tfrecord"), batch_size=32, seed=1))
    x, y, weights = next(iter(batches))
    assert x["token_ids"].shape == (32, MAX_SEQ_LENGTH)
    assert x["mask_positions"].shape == y["mlm"].shape == (32, 20)
    assert set(np.unique(y["nsp"].numpy())) <= {0, 1}
    # The original's count: 15% of each instance's length ([CLS]/[SEP] counted), at most 20.
    real = x["padding_mask"].numpy().sum(1)
    chosen = weights["mlm"].numpy().sum(1)
    expected = [min(20, max(1, round(n * 0.15))) for n in real.tolist()]
    np.testing.assert_array_equal(chosen, expected)


def test_truncation_in_closed_form_matches_the_loop():
    lengths = [(a, b) for a in range(1, 80, 3) for b in range(1, 80, 4)]
    a_len, b_len = np.array(lengths).T
    zeros = np.zeros_like(a_len)
    a_start, a_end, b_start, b_end = (t.numpy() for t in _truncate_seq_pairs(
        zeros, a_len, zeros, b_len, 61, tf.constant([1, 2], tf.int64)))
    for i, (a, b) in enumerate(lengths):
        a0, a1, b0, b1 = truncate_seq_pair(0, a, 0, b, 61, random.Random(i))
        assert (a_end[i] - a_start[i], b_end[i] - b_start[i]) == (a1 - a0, b1 - b0)
        assert 0 <= a_start[i] and a_end[i] <= a and 0 <= b_start[i] and b_end[i] <= b


def test_streaming_dataset(wiki_files, tokenizer):
    ds = streaming_pretraining_dataset(str(wiki_files[1]), tokenizer, max_seq_length=96, seed=5,
                                       dupe_factor=2, batch_size=4096)
    check_instances(as_numpy(ds), tokenizer, [wiki_files[1]], 96)
    # Unbatched, the elements of the TFRecord datasets.
    padded = {"token_ids": [101, 7, 102, 8, 9, 102, 0, 0], "length": 6, "b_start": 3,
              "is_random_next": 1}
    element = _unpad({k: tf.constant(v) for k, v in padded.items()})
    assert {k: v.numpy().tolist() for k, v in element.items()} == {
        "token_ids": [101, 7, 102, 8, 9, 102], "segment_ids": [0, 0, 0, 1, 1, 1],
        "is_random_next": 1}
    with pytest.raises(ValueError, match="documents_per_group"):
        streaming_pretraining_dataset(str(wiki_files[1]), tokenizer, documents_per_group=1)


def test_streaming_pairs_depend_only_on_the_seed(wiki_files, tokenizer):
    documents = tokenize_documents(read_documents(wiki_files[1].read_text()), tokenizer)[:20]
    make = tf.function(lambda seed: group_instances(documents, 64, 0.1, 2, seed, 101, 102))
    first, again, other = (make(tf.constant(s, tf.int64)) for s in ([1, 2], [1, 2], [1, 3]))
    assert first["token_ids"].to_list() == again["token_ids"].to_list()
    assert first["token_ids"].to_list() != other["token_ids"].to_list()


def original_training_instances(all_documents, max_seq_length, dupe_factor, short_seq_prob,
                                rng):
    """google-research/bert's create_training_instances and create_instances_from_document
    as released, less the masking (which would draw from `rng` too); instances as
    (tokens_a, tokens_b, is_random_next)."""
    all_documents = list(all_documents)
    rng.shuffle(all_documents)
    instances = []
    for _ in range(dupe_factor):
        for document_index in range(len(all_documents)):
            document = all_documents[document_index]
            max_num_tokens = max_seq_length - 3
            target_seq_length = max_num_tokens
            if rng.random() < short_seq_prob:
                target_seq_length = rng.randint(2, max_num_tokens)
            current_chunk, current_length, i = [], 0, 0
            while i < len(document):
                segment = document[i]
                current_chunk.append(segment)
                current_length += len(segment)
                if i == len(document) - 1 or current_length >= target_seq_length:
                    if current_chunk:
                        a_end = 1
                        if len(current_chunk) >= 2:
                            a_end = rng.randint(1, len(current_chunk) - 1)
                        tokens_a = []
                        for j in range(a_end):
                            tokens_a.extend(current_chunk[j])
                        tokens_b = []
                        is_random_next = False
                        if len(current_chunk) == 1 or rng.random() < 0.5:
                            is_random_next = True
                            target_b_length = target_seq_length - len(tokens_a)
                            for _ in range(10):
                                random_document_index = rng.randint(0, len(all_documents) - 1)
                                if random_document_index != document_index:
                                    break
                            random_document = all_documents[random_document_index]
                            random_start = rng.randint(0, len(random_document) - 1)
                            for j in range(random_start, len(random_document)):
                                tokens_b.extend(random_document[j])
                                if len(tokens_b) >= target_b_length:
                                    break
                            num_unused_segments = len(current_chunk) - a_end
                            i -= num_unused_segments
                        else:
                            is_random_next = False
                            for j in range(a_end, len(current_chunk)):
                                tokens_b.extend(current_chunk[j])
                        while len(tokens_a) + len(tokens_b) > max_num_tokens:
                            trunc_tokens = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b
                            if rng.random() < 0.5:
                                del trunc_tokens[0]
                            else:
                                trunc_tokens.pop()
                        instances.append((tokens_a, tokens_b, is_random_next))
                    current_chunk, current_length = [], 0
                i += 1
    rng.shuffle(instances)
    return instances


def test_shards_refuse_a_vocabulary_that_did_not_make_them(made, tokenizer, tmp_path):
    from keras_bert_repro.data import check_pretraining_vocabulary

    output, _ = made
    check_pretraining_vocabulary(f"{output}/*.tfrecord", tokenizer)  # the one that made them
    cased = BertTokenizer(str(shared_data("vocab", "bert-base-cased-vocab.txt")))
    with pytest.raises(ValueError, match="made with another vocabulary.*pretraining_data.json"):
        check_pretraining_vocabulary(f"{output}/*.tfrecord", cased)
    # Without the manifest, the ids tell: none may reach past the vocabulary.
    copied = tmp_path / "copied"
    copied.mkdir()
    for shard in output.glob("*.tfrecord"):
        (copied / shard.name).write_bytes(shard.read_bytes())
    small = BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the"])
    with pytest.raises(ValueError, match=r"holds token id \d+, beyond this vocabulary's 6"):
        check_pretraining_vocabulary(f"{copied}/*.tfrecord", small)


def test_paragraph_corpora_warn_as_lines_and_pair_as_paragraphs(tokenizer, tmp_path):
    """WikiText's layout (a paragraph per line, blank lines between, `= Title =` lines
    between articles): read as "lines", one-paragraph "documents" leave almost every
    next sentence random, and the run says so; read as "paragraphs", the articles are
    the documents and about half the next sentences are random, as in the paper."""
    text = shared_data("wikitext-2", "wiki.valid.tokens").read_text(encoding="utf-8")
    starts = [i for i, line in enumerate(text.splitlines()) if line.startswith(" = ")
              and not line.startswith(" = = ")]
    corpus = tmp_path / "wikitext.txt"
    corpus.write_text("\n".join(text.splitlines()[:starts[12]]), encoding="utf-8")
    made = {}
    for format in ("lines", "paragraphs"):
        made[format] = create_pretraining_data(
            str(corpus), str(tmp_path / format), tokenizer, format=format, dupe_factor=1,
            num_workers=1, progress=False)
    assert made["lines"].random_next_fraction > 0.6
    assert "--format=paragraphs" in made["lines"].nsp_warning()
    assert made["paragraphs"].documents_made == 12
    assert 0.4 < made["paragraphs"].random_next_fraction < 0.6
    assert made["paragraphs"].nsp_warning() is None


def test_real_documents_get_no_nsp_warning(made):
    _, stats = made
    assert 0.4 < stats.random_next_fraction < 0.6 and stats.nsp_warning() is None
