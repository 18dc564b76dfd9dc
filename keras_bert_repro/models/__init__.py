"""BertBackbone and the task models built on it."""

from keras_bert_repro.models.backbone import BertBackbone
