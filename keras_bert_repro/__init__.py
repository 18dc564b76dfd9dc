"""keras_bert_repro: BERT (Devlin et al., 2018) as Keras 3 layers and models.

Runs on the TensorFlow, JAX and PyTorch backends; text is processed by
TensorFlow Text inside `tf.data`.

Example:
>>> import keras_bert_repro as kbr
>>> bb = kbr.BertBackbone.from_preset("/path/to/uncased_L-12_H-768_A-12")  # doctest: +SKIP
"""

__version__ = "0.1.0"

from keras_bert_repro.models import (
    BertBackbone, BertClassifier, BertFeatureClassifier, BertMultipleChoice,
    BertMultipleChoicePreprocessor, BertPretrainer, BertQuestionAnswerer, BertTokenClassifier)
from keras_bert_repro.presets import PresetDownloadError, list_presets
from keras_bert_repro.text import (
    BertPreprocessor, BertPretrainingPreprocessor, BertSquadPreprocessor, BertTokenizer,
    BertWordPreprocessor)
from keras_bert_repro import training
from keras_bert_repro.export import export_saved_model
