"""Readers: task files (GLUE, ...) -> texts and labels."""

from keras_bert_repro.data.glue import TASKS as GLUE_TASKS, get_task, read_glue
