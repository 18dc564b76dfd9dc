"""What a checkpoint writer takes: a model as plain data, with no Keras object in it.

`models/` fills a `Checkpoint` from a backbone or task (`save_to_preset`), and
`presets.write_checkpoint` writes it in a foreign layout (HF, keras-hub, Google).
Weights are under Google's TF1 names and shapes, as the readers hand them out
(`weight_names`); each task's head under the name Google's scripts use:
- `"pretraining"`, `"masked_lm"`: `cls/predictions/*` (+ `cls/seq_relationship/*`);
- `"sequence_classification"`, `"token_classification"`, `"multiple_choice"`:
  `output_weights` `[labels, hidden]` and `output_bias` (`run_classifier.py`);
- `"question_answering"`: `cls/squad/output_weights` `[2, hidden]`, `cls/squad/output_bias`
  (`run_squad.py`).

Example:
>>> ckpt = Checkpoint(config=bb_config, arrays=arrays, vocabulary=tokens,
...                   lowercase=True)  # doctest: +SKIP
>>> write_checkpoint("/tmp/my_bert_hf", ckpt, format="hf")  # doctest: +SKIP
"""

import dataclasses

TASKS = ("backbone", "pretraining", "masked_lm", "sequence_classification",
         "token_classification", "question_answering", "multiple_choice")
CLASSIFIER_WEIGHTS = ("output_weights", "output_bias")
SQUAD_WEIGHTS = ("cls/squad/output_weights", "cls/squad/output_bias")


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """A model to write.

    Args:
        config: `BertBackbone` arguments (`vocabulary_size`, `num_layers`, ...,
            `activation`, `causal`) plus `layer_norm_epsilon`.
        arrays: `{google_name: ndarray}`: the backbone's `bert/*` weights and the
            task head's (see the module docstring).
        vocabulary: the tokens, in id order.
        lowercase: whether the tokenizer lower-cases (uncased) or not.
        task: one of `TASKS`.
        label_names: the name of each label id (classification tasks), or None.
        sequence_length: the preprocessor's length, where the layout records one.
        head_dropout: the dropout before the task head (0.1 in the paper).
    """

    config: dict
    arrays: dict
    vocabulary: list
    lowercase: bool
    task: str = "backbone"
    label_names: list | None = None
    sequence_length: int | None = None
    head_dropout: float = 0.1

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}.")
        size = self.config["vocabulary_size"]
        if len(self.vocabulary) != size:
            raise ValueError(f"The vocabulary has {len(self.vocabulary)} tokens but the model "
                             f"has vocabulary_size={size}: the ids would not match the tokens.")

    @property
    def num_labels(self):
        """Rows of the task head's output weights (0 for the backbone and pre-training)."""
        for name in (CLASSIFIER_WEIGHTS[0], SQUAD_WEIGHTS[0]):
            if name in self.arrays:
                return int(self.arrays[name].shape[0])
        return 0
