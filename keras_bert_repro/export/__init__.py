"""SavedModel / TF Serving export."""

from keras_bert_repro.export.saved_model import export_saved_model
