"""Optimizers and schedules (AdamW with the paper's warm-up and decay), distribution
strategies, step checkpoints and LM adaptation."""

from keras_bert_repro.training.checkpoints import StepCheckpoint
from keras_bert_repro.training.lm_adaptation import adapt_language_model
from keras_bert_repro.training.optimizers import BertAdamW, BertLamb, bert_adamw, bert_lamb
from keras_bert_repro.training.schedules import WarmupLinearDecay
from keras_bert_repro.training.strategy import (
    ClipAfterCrossReplicaSum, DistributionError, Distribution, STRATEGIES, select_distribution)
