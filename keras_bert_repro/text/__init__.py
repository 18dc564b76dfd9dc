"""Text on TensorFlow Text: tokenization, segment packing (runs in tf.data on any backend)."""

from keras_bert_repro.text.preprocessor import BertPreprocessor
from keras_bert_repro.text.tokenizer import BertTokenizer
from keras_bert_repro.text.vocabulary_learning import learn_vocabulary
