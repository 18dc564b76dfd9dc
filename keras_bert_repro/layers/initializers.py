"""The paper's weight initialisation: truncated normal, stddev 0.02."""

import keras


def bert_initializer(stddev=0.02):
    """Returns the initializer every BERT weight matrix starts from."""
    return keras.initializers.TruncatedNormal(stddev=stddev)
