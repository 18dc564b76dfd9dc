"""One writer over the foreign layouts: a `Checkpoint` in, a checkpoint directory out.

`write_checkpoint` checks first that the layout can hold the model (its task, its
GELU, its attention) and refuses in one line naming what it cannot hold; it then
writes into a hidden folder and moves the files into place once complete, so a
crash or a refusal never leaves a half-written checkpoint.

Example:
>>> write_checkpoint("/tmp/bert_hf", checkpoint, format="hf")  # doctest: +SKIP
"""

import os
import shutil

from keras_bert_repro.presets import google_writer, hf_writer, keras_hub_writer
from keras_bert_repro.presets.file_io import (
    STAGING_PREFIX, finish_replace, new_folder, replace_contents, visible_entries)
from keras_bert_repro.presets.tokenizer_files import infer_lowercase

WRITERS = {
    "hf": (hf_writer.write_hf, tuple(hf_writer.ARCHITECTURES)),
    "keras_hub": (keras_hub_writer.write_keras_hub, keras_hub_writer.TASKS),
    "google": (google_writer.write_google, google_writer.TASKS),
}
# Layouts whose model code has only GELU's tanh approximation (keras-hub's
# TransformerEncoder; Google's modeling.py, where "gelu" is the tanh form).
TANH_GELU_ONLY = ("keras_hub", "google")


class UnsupportedCheckpoint(ValueError):
    """The target layout cannot represent the model (a task, activation or setting)."""


def check_writable(checkpoint, format, allow_gelu_change=False):
    """Raises `UnsupportedCheckpoint` when `format` cannot hold `checkpoint`."""
    if format not in WRITERS:
        raise ValueError(f"format must be one of {sorted(WRITERS)}, got {format!r}.")
    tasks = WRITERS[format][1]
    if checkpoint.task not in tasks:
        raise UnsupportedCheckpoint(
            f"The {format} layout has no {checkpoint.task} model (it holds {', '.join(tasks)}); "
            "save the backbone alone (model.backbone.save_to_preset) or use format='hf'.")
    config = checkpoint.config
    if config.get("causal"):
        raise UnsupportedCheckpoint(
            f"This is a left-to-right (causal) model; the {format} layout has no field "
            "for causal attention in a BERT encoder, so it would load as bidirectional.")
    if format in TANH_GELU_ONLY and config["activation"] != "gelu_approximate" \
            and not allow_gelu_change:
        raise UnsupportedCheckpoint(
            f"The {format} layout computes GELU's tanh approximation and this model uses "
            f"{config['activation']!r}: outputs would move (about 1e-3). Build the model with "
            "activation='gelu_approximate', or pass allow_gelu_change=True.")
    if format == "keras_hub" and checkpoint.task == "sequence_classification" \
            and checkpoint.num_labels == 1:
        raise UnsupportedCheckpoint(
            "keras-hub's BertTextClassifier has no regression head (its compile() uses "
            "cross-entropy); save the backbone alone or use format='hf'.")
    if format == "keras_hub" and "[MASK]" not in checkpoint.vocabulary:
        raise UnsupportedCheckpoint("keras-hub's BertTokenizer needs a [MASK] token, which "
                                    "this vocabulary lacks.")
    if format == "google" and checkpoint.lowercase != infer_lowercase(checkpoint.vocabulary):
        raise UnsupportedCheckpoint(
            "Google's layout has no casing field (its users pass --do_lower_case, and this "
            f"library reads the casing from the vocabulary); this tokenizer has "
            f"lowercase={checkpoint.lowercase} but its vocabulary says the opposite.")


def write_checkpoint(path, checkpoint, format, overwrite=False, allow_gelu_change=False):
    """Writes `checkpoint` to the directory `path` in `format` (`"hf"`, `"keras_hub"`
    or `"google"`); returns `path`.

    `path` must not exist or be an empty directory, unless `overwrite=True`
    (the old contents are then replaced only once the new ones are complete).
    An existing directory (a mount point, a symlink's target) is kept and filled:
    the checkpoint is staged in a hidden folder inside it and moved in by
    `file_io.replace_contents`, which a kill cannot leave half done.
    """
    check_writable(checkpoint, format, allow_gelu_change)
    path = os.path.realpath(os.fspath(path))
    if os.path.exists(path) and not os.path.isdir(path):
        raise FileExistsError(f"{path} is a file; give a directory for the checkpoint.")
    finish_replace(path)  # what a killed earlier write left half done
    exists = os.path.isdir(path)
    if exists and visible_entries(path) and not overwrite:
        raise FileExistsError(f"{path} exists and is not empty; give a new directory or "
                              "pass overwrite=True.")
    if exists:
        staging = new_folder(STAGING_PREFIX, path)
    else:
        parent, name = os.path.split(path)
        os.makedirs(parent, exist_ok=True)
        staging = new_folder(f".{name}{STAGING_PREFIX}", parent)
    try:
        WRITERS[format][0](staging, checkpoint)
        if exists:
            replace_contents(path, staging)
        else:
            os.rename(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return path
