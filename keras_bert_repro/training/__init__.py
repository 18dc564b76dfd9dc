"""Optimizers and schedules (AdamW with the paper's warm-up and decay)."""

from keras_bert_repro.training.optimizers import bert_adamw
from keras_bert_repro.training.schedules import WarmupLinearDecay
