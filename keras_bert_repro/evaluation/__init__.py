"""Task metrics as the official scripts compute them."""

from keras_bert_repro.evaluation.glue_metrics import (
    accuracy, f1, glue_metrics, matthews_corrcoef, pearson, spearman)
