"""Keras layers BERT is built from (no model-level logic here)."""

from keras_bert_repro.layers.attention import MultiHeadSelfAttention
from keras_bert_repro.layers.bilstm import MaskedBiLSTM
from keras_bert_repro.layers.dense import Dense
from keras_bert_repro.layers.dropout import Dropout
from keras_bert_repro.layers.embeddings import PositionEmbedding
from keras_bert_repro.layers.encoder_block import TransformerEncoderBlock
from keras_bert_repro.layers.initializers import bert_initializer
from keras_bert_repro.layers.heads import MaskedLMHead
from keras_bert_repro.layers.scalar_mix import ScalarMix
