"""Text on TensorFlow Text: tokenization, segment packing, masking and every task's
preprocessor (they run in tf.data on any backend)."""

from keras_bert_repro.text.masking import MaskedLMMasker
from keras_bert_repro.text.multiple_choice_preprocessor import BertMultipleChoicePreprocessor
from keras_bert_repro.text.offsets import OffsetTokenizer
from keras_bert_repro.text.preprocessor import BertPreprocessor
from keras_bert_repro.text.pretraining_preprocessor import BertPretrainingPreprocessor
from keras_bert_repro.text.squad_postprocessing import best_answers
from keras_bert_repro.text.squad_preprocessor import BertSquadPreprocessor, SquadFeatures
from keras_bert_repro.text.tokenizer import BertTokenizer
from keras_bert_repro.text.vocabulary_learning import learn_vocabulary
from keras_bert_repro.text.word_preprocessor import BertWordPreprocessor, to_ragged_words
