"""Optimizers and schedules (AdamW with the paper's warm-up and decay), distribution
strategies and step checkpoints; nothing here knows the models.

(`adapt_language_model`, which trains a `BertPretrainer`, lives in `models/`; the
top-level package also sets it here, where 0.1.0 published it.)
"""

from keras_bert_repro.training.checkpoints import StepCheckpoint, optimizer_step, reseed
from keras_bert_repro.training.optimizers import BertAdamW, BertLamb, bert_adamw, bert_lamb
from keras_bert_repro.training.schedules import WarmupLinearDecay
from keras_bert_repro.training.strategy import (
    ClipAfterCrossReplicaSum, DistributionError, Distribution, STRATEGIES, select_distribution)
