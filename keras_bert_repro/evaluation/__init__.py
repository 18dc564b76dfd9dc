"""Task metrics as the official scripts compute them."""

from keras_bert_repro.evaluation.glue_metrics import (
    accuracy, f1, glue_metrics, matthews_corrcoef, pearson, spearman)
from keras_bert_repro.evaluation.entity_f1 import entity_f1, entity_spans
from keras_bert_repro.evaluation.squad_metrics import normalize_answer, squad_metrics
