"""keras_bert_repro: BERT (Devlin et al., 2018) as Keras 3 layers and models.

Runs on the TensorFlow, JAX and PyTorch backends; text is processed by
TensorFlow Text inside `tf.data`.

Example:
>>> import keras_bert_repro as kbr
>>> bb = kbr.BertBackbone.from_preset("/path/to/uncased_L-12_H-768_A-12")  # doctest: +SKIP
"""

from keras_bert_repro.version import __version__
from keras_bert_repro.presets import PresetDownloadError, list_presets
from keras_bert_repro.text import (
    BertMultipleChoicePreprocessor, BertPreprocessor, BertPretrainingPreprocessor,
    BertSquadPreprocessor, BertTokenizer, BertWordPreprocessor)
from keras_bert_repro import data, presets, text, training
from keras_bert_repro.models import (
    BertBackbone, BertClassifier, BertFeatureClassifier, BertFeatureTokenClassifier,
    BertMultipleChoice, BertPretrainer, BertQuestionAnswerer, BertTokenClassifier,
    adapt_language_model)
from keras_bert_repro.export import export_saved_model

# 0.1.0 published it as `kbr.training.adapt_language_model`; it trains a BertPretrainer,
# so it lives in models/, which training/ may not import. The top level sets it there.
training.adapt_language_model = adapt_language_model
