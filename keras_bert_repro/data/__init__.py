"""Readers: task files (GLUE, ...) -> texts and labels."""

from keras_bert_repro.data.glue import TASKS as GLUE_TASKS, get_task, read_glue
from keras_bert_repro.data.conll import CONLL2003_LABELS, iob1_to_iob2, read_conll, tag_ids, tag_scheme
from keras_bert_repro.data.pretraining import (
    create_pretraining_data, parse_pretraining_example, pretraining_dataset)
from keras_bert_repro.data.pretraining_streaming import streaming_pretraining_dataset
from keras_bert_repro.data.squad import SquadExample, questions_and_contexts, read_squad, split_by_article
from keras_bert_repro.data.swag import read_swag
