"""What each task's SavedModel signatures take and return.

Every export has `serving_default` on raw strings (tokenization in the graph)
and `serving_ids` on `token_ids`, `segment_ids`, `padding_mask` (int32
`[batch, length]`; multiple choice `[batch, num_choices, length]`). Every input
and output has the batch first, so TF Serving's REST row format
(`{"instances": [{"text": ...}, ...]}`) and its gRPC `Predict` both work.

- `BertClassifier`, `BertFeatureClassifier`: `text` `[B]` (and `text_pair` `[B]`)
  -> `logits`, `probabilities` `[B, C]` (regression: `score` `[B]`);
- `BertTokenClassifier`: `text` `[B]` -> words, per-word labels and entities
  (see `token_classification`);
- `BertQuestionAnswerer`: `question`, `context` `[B]` -> `answer`, `start`, `end`,
  `score` `[B]` (see `question_answering`);
- `BertMultipleChoice`: `context` `[B]`, `endings` `[B, C]` -> `logits`,
  `probabilities` `[B, C]`, `choice` `[B]`.

`serving_ids` returns the model's raw outputs: `logits` (and `probabilities`)
for classifiers and multiple choice; `logits` `[B, L, C]` and `label_ids`
`[B, L]` per piece for token classification; `start_logits`, `end_logits`
`[B, L]` for question answering.
"""

from keras_bert_repro.export.classification import classification
from keras_bert_repro.export.multiple_choice import multiple_choice
from keras_bert_repro.export.question_answering import question_answering
from keras_bert_repro.export.token_classification import checked_label_names, token_classification
from keras_bert_repro.models import (
    BertClassifier, BertFeatureClassifier, BertMultipleChoice, BertQuestionAnswerer,
    BertTokenClassifier)

CLASSIFIERS = (BertClassifier, BertFeatureClassifier)
EXPORTABLE = CLASSIFIERS + (BertTokenClassifier, BertQuestionAnswerer, BertMultipleChoice)


def served_pairs(task, pairs):
    """Whether the text signature takes pairs: `pairs`, or where it is None what the
    classifier was fine-tuned on (`task.text_pairs`; single texts if unknown).
    Raises where `pairs` contradicts the model."""
    if not isinstance(task, CLASSIFIERS):
        if pairs:
            raise ValueError(f"pairs=True is for sentence-pair classifiers, not "
                             f"{type(task).__name__}.")
        return False
    trained = task.text_pairs
    if pairs is None:
        return bool(trained)
    if trained is not None and bool(pairs) != trained:
        raise ValueError(f"pairs={bool(pairs)} but the classifier was fine-tuned on "
                         f"{'text pairs' if trained else 'single texts'}; leave pairs "
                         "unset to serve what it was trained on.")
    return bool(pairs)


def check_task(task, label_names, text=True):
    """Raises on a task the export cannot serve; returns the token classifier's
    label names (None for other tasks). `text`: a text signature is exported."""
    if not isinstance(task, EXPORTABLE):
        raise TypeError(f"Cannot export {type(task).__name__}: export takes "
                        f"{', '.join(cls.__name__ for cls in EXPORTABLE)}.")
    if isinstance(task, BertTokenClassifier):
        return checked_label_names(task, label_names, required=text)
    if label_names is not None:
        raise ValueError("label_names is for token classifiers only.")
    return None


def serving_functions(task, pairs=False, label_names=None):
    """The `Serving` of `task` (checked by `check_task`); the text function needs
    `task.preprocessor`."""
    if isinstance(task, BertTokenClassifier):
        return token_classification(task, label_names)
    if isinstance(task, BertQuestionAnswerer):
        return question_answering(task)
    if isinstance(task, BertMultipleChoice):
        return multiple_choice(task)
    return classification(task, pairs)
