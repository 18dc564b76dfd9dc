"""LM adaptation: continued masked-LM pre-training on domain text before fine-tuning."""

import glob
import os

import keras
import tensorflow as tf

from keras_bert_repro.models.checkpoint_export import check_savable
from keras_bert_repro.models.pretrainer import BertPretrainer
from keras_bert_repro.training import bert_adamw


def adapt_language_model(preset, texts, output_dir, steps=1000, batch_size=32,
                         sequence_length=128, learning_rate=5e-5, max_predictions_per_seq=20,
                         seed=0, verbose=1, export_format="own"):
    """Continues pre-training `preset` with masked LM (no NSP) on `texts` and writes
    the adapted encoder as a preset that every task's `from_preset` loads.

    The paper's masking (15% chosen; 80% `[MASK]`, 10% random, 10% kept), fresh
    masks for every batch, AdamW with warm-up over 10% of `steps` then linear
    decay. The checkpoint's MLM head is used when it has one (Google's
    pre-training checkpoints, HF `BertForPreTraining`), else a fresh one.

    Args:
        preset: the starting checkpoint (any preset format or registry name).
        texts: a list of strings, a `tf.data.Dataset` of strings, or the path
            or glob of text files (one text per line; blank lines skipped).
        output_dir: where the adapted preset goes.
        steps: training steps (batches), logged in four parts (rounded down to a
            multiple of 4).
        export_format: the layout of the preset written: `"own"`, or `"hf"`
            (`BertForMaskedLM`, the adapted MLM head included), `"google"` or
            `"keras_hub"` (see `BertTask.save_to_preset`); checked before training.

    Returns:
        `(output_dir, history)`: the preset's path and the MLM loss and accuracy
        of each quarter of the run (`History.history`).

    Example:
    >>> path, _ = adapt_language_model(preset, reviews, "runs/adapted", steps=500)  # doctest: +SKIP
    >>> clf = BertClassifier.from_preset(path, num_classes=2)  # doctest: +SKIP
    """
    if int(steps) < 1:
        raise ValueError(f"steps must be at least 1, got {steps}.")
    dataset = _text_dataset(texts)
    keras.utils.set_random_seed(seed)
    model = BertPretrainer.from_preset(preset, objective="mlm", sequence_length=sequence_length,
                                       max_predictions_per_seq=max_predictions_per_seq, seed=seed)
    check_savable(model, export_format)
    # Four "epochs" of steps/4 batches: a loss curve in the history and the log.
    epochs = 4 if steps >= 4 else 1
    steps_per_epoch = int(steps) // epochs
    model.compile(optimizer=bert_adamw(learning_rate, total_steps=steps_per_epoch * epochs))
    batches = dataset.shuffle(10_000, seed=seed).repeat().batch(batch_size)
    history = model.fit(batches, steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=verbose)
    model.save_to_preset(output_dir, format=export_format)
    return output_dir, history.history


def _text_dataset(texts):
    if isinstance(texts, tf.data.Dataset):
        if texts.element_spec != tf.TensorSpec([], tf.string):
            raise ValueError("texts must be a dataset of single strings, got elements "
                             f"{texts.element_spec}.")
        return texts
    if isinstance(texts, (str, os.PathLike)):
        files = sorted(glob.glob(os.fspath(texts)))
        if not files:
            raise FileNotFoundError(f"No text files match {os.fspath(texts)!r}.")
        return tf.data.TextLineDataset(files).filter(
            lambda line: tf.strings.length(tf.strings.strip(line)) > 0)
    texts = [t for t in texts if t.strip()]
    if not texts:
        raise ValueError("texts is empty: LM adaptation needs domain text.")
    return tf.data.Dataset.from_tensor_slices(texts)
