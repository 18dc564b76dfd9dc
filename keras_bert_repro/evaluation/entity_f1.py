"""Entity-level precision, recall and F1 as CoNLL's `conlleval.pl` (version 2004-01-26)
computes them, and the entity spans its chunk rules decode from tags.

A tag is `<prefix>-<type>` split at the first hyphen (`B-PER`, `I-LOC`) or a bare
prefix (`O`). The script's chunk rules accept IOB1, IOB2 (BIO) and the E tags of
IOE; a chunk also ends and starts wherever the type changes. An entity counts as
correct only if both its boundaries and its type match. Sentences are separated by
the script's boundary, which ends every chunk.
"""

import collections


def split_tag(tag):
    """`"B-PER"` -> `("B", "PER")`; `"O"` -> `("O", "")`. Types may hold hyphens."""
    prefix, hyphen, chunk_type = tag.partition("-")
    return prefix, chunk_type if hyphen else ""


def end_of_chunk(prev_tag, tag, prev_type, chunk_type):
    """Whether a chunk ended between the previous and the current word (`endOfChunk`)."""
    return ((prev_tag, tag) in {("B", "B"), ("B", "O"), ("I", "B"), ("I", "O"), ("E", "E"),
                                ("E", "I"), ("E", "O")}
            or (prev_tag not in ("O", ".") and prev_type != chunk_type)
            or prev_tag in ("[", "]"))  # bracket chunks are one word long


def start_of_chunk(prev_tag, tag, prev_type, chunk_type):
    """Whether a chunk started between the previous and the current word (`startOfChunk`)."""
    return ((prev_tag, tag) in {("B", "B"), ("I", "B"), ("O", "B"), ("O", "I"), ("E", "E"),
                                ("E", "I"), ("O", "E")}
            or (tag not in ("O", ".") and prev_type != chunk_type)
            or tag in ("[", "]"))


def entity_spans(tags):
    """The entities in one sentence's tags, as `conlleval.pl` delimits them.

    Returns a list of `(type, start, end)` with `end` inclusive (word indices).

    Example:
    >>> entity_spans(["B-PER", "I-PER", "O", "I-LOC", "B-LOC"])  # IOB1 works too
    [('PER', 0, 1), ('LOC', 3, 3), ('LOC', 4, 4)]
    """
    spans, start, chunk_type = [], None, ""
    prev_tag, prev_type = "O", ""
    for i, tag in enumerate(tags):
        prefix, tag_type = split_tag(tag)
        starts = start_of_chunk(prev_tag, prefix, prev_type, tag_type)
        if start is not None and (starts or end_of_chunk(prev_tag, prefix, prev_type, tag_type)):
            spans.append((chunk_type, start, i - 1))
            start = None
        if starts:
            start, chunk_type = i, tag_type
        prev_tag, prev_type = prefix, tag_type
    if start is not None:
        spans.append((chunk_type, start, len(tags) - 1))
    return spans


def _ratios(correct, found_guessed, found_correct):
    precision = correct / found_guessed if found_guessed else 0.0
    recall = correct / found_correct if found_correct else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def entity_f1(true_tags, predicted_tags):
    """Entity precision/recall/F1, overall and per type, exactly as `conlleval.pl`.

    Args:
        true_tags: sentences, each a list of gold tag strings.
        predicted_tags: the predicted tags, sentence for sentence.

    Returns a dict: `precision`, `recall`, `f1` and `accuracy` (the script's
    percentages divided by 100), the counts `found_correct` (gold entities),
    `found_guessed` (predicted), `correct` and `tokens`, and `per_type`: for each
    type, its `precision`, `recall`, `f1` and counts.

    Example:
    >>> entity_f1([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]])["f1"]
    0.0
    """
    if len(true_tags) != len(predicted_tags):
        raise ValueError(f"{len(true_tags)} gold sentences but {len(predicted_tags)} "
                         "predicted ones.")
    found_correct = collections.Counter()
    found_guessed = collections.Counter()
    correct_chunks = collections.Counter()
    correct_tags = tokens = 0
    in_correct = False
    last_correct, last_correct_type = "O", ""
    last_guessed, last_guessed_type = "O", ""

    def lines():
        for index, (gold, guess) in enumerate(zip(true_tags, predicted_tags)):
            if len(gold) != len(guess):
                raise ValueError(f"Sentence {index}: {len(gold)} gold tags but {len(guess)} "
                                 "predicted ones.")
            for pair in zip(gold, guess):
                yield pair, True
            yield ("O", "O"), False  # the sentence boundary (an empty line)

    # The script's main loop, one line (word or boundary) at a time.
    for (gold, guess), is_word in lines():
        correct, correct_type = split_tag(gold)
        guessed, guessed_type = split_tag(guess)
        ended_correct = end_of_chunk(last_correct, correct, last_correct_type, correct_type)
        ended_guessed = end_of_chunk(last_guessed, guessed, last_guessed_type, guessed_type)
        if in_correct:
            if ended_correct and ended_guessed and last_guessed_type == last_correct_type:
                in_correct = False
                correct_chunks[last_correct_type] += 1
            elif ended_correct != ended_guessed or guessed_type != correct_type:
                in_correct = False
        started_correct = start_of_chunk(last_correct, correct, last_correct_type, correct_type)
        started_guessed = start_of_chunk(last_guessed, guessed, last_guessed_type, guessed_type)
        if started_correct and started_guessed and guessed_type == correct_type:
            in_correct = True
        if started_correct:
            found_correct[correct_type] += 1
        if started_guessed:
            found_guessed[guessed_type] += 1
        if is_word:
            correct_tags += correct == guessed and correct_type == guessed_type
            tokens += 1
        last_correct, last_correct_type = correct, correct_type
        last_guessed, last_guessed_type = guessed, guessed_type
    if in_correct:
        correct_chunks[last_correct_type] += 1

    def counts(correct, guessed, gold):
        return {"found_correct": gold, "found_guessed": guessed, "correct": correct}

    total = (sum(correct_chunks.values()), sum(found_guessed.values()),
             sum(found_correct.values()))
    per_type = {t: {**_ratios(correct_chunks[t], found_guessed[t], found_correct[t]),
                    **counts(correct_chunks[t], found_guessed[t], found_correct[t])}
                for t in sorted(set(found_correct) | set(found_guessed))}
    return {**_ratios(*total), "accuracy": correct_tags / tokens if tokens else 0.0,
            **counts(*total), "tokens": tokens, "per_type": per_type}
