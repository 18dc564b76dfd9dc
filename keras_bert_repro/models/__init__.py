"""BertBackbone and the task models built on it, each with `from_preset`."""

from keras_bert_repro.models.backbone import BertBackbone
from keras_bert_repro.models.task import BertTask
from keras_bert_repro.models.checkpoint_export import FORMATS, check_savable
from keras_bert_repro.models.classifier import BertClassifier
from keras_bert_repro.models.feature_classifier import BertFeatureClassifier
from keras_bert_repro.models.feature_token_classifier import BertFeatureTokenClassifier
from keras_bert_repro.models.multiple_choice import BertMultipleChoice
from keras_bert_repro.models.pretrainer import BertPretrainer
from keras_bert_repro.models.lm_adaptation import adapt_language_model
from keras_bert_repro.models.question_answerer import BertQuestionAnswerer
from keras_bert_repro.models.token_classifier import BertTokenClassifier
# Where 0.1.0 kept it; it lives in text/ with the other preprocessors.
from keras_bert_repro.text import BertMultipleChoicePreprocessor
