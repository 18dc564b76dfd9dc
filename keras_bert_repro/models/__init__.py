"""BertBackbone and the task models built on it."""

from keras_bert_repro.models.backbone import BertBackbone
from keras_bert_repro.models.classifier import BertClassifier
from keras_bert_repro.models.task import BertTask
