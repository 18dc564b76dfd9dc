"""Readers: task files (GLUE, CoNLL, SQuAD, SWAG) -> texts and labels; pre-training
instances; the length-grouped batching of in-memory examples."""

from keras_bert_repro.data.glue import TASKS as GLUE_TASKS, get_task, read_glue
from keras_bert_repro.data.length_grouping import LengthGroupedPlan, length_grouped_dataset
from keras_bert_repro.data.conll import (
    CONLL2003_LABELS, iob1_to_iob2, label_names_of, read_conll, tag_ids, tag_scheme)
from keras_bert_repro.data.pretraining import (
    check_pretraining_vocabulary, create_pretraining_data, parse_pretraining_example,
    pretraining_dataset)
from keras_bert_repro.data.pretraining_streaming import streaming_pretraining_dataset
from keras_bert_repro.data.squad import SquadExample, questions_and_contexts, read_squad, split_by_article
from keras_bert_repro.data.swag import read_swag
