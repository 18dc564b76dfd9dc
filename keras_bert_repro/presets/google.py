"""Google's original release: `bert_config.json` + a TF1 `bert_model.ckpt`."""

import glob
import json
import os

from keras_bert_repro.presets.checkpoint import CLASSIFIER_WEIGHTS, SQUAD_WEIGHTS
from keras_bert_repro.presets.hf import hf_config_to_backbone
from keras_bert_repro.presets.weight_names import BACKBONE_PREFIX, HEAD_PREFIX


def find_checkpoint(path):
    """The checkpoint prefix in `path` (`bert_model.ckpt` or the latest one)."""
    preferred = os.path.join(path, "bert_model.ckpt")
    if os.path.isfile(preferred + ".index"):
        return preferred
    # TensorFlow is imported only to read a TF1 checkpoint, so that HF and keras-hub
    # presets load where it is not installed (benchmarks on a GPU machine).
    import tensorflow as tf

    latest = tf.train.latest_checkpoint(path)
    if latest:
        return latest
    indexes = sorted(glob.glob(os.path.join(path, "*.ckpt*.index")))
    return indexes[-1][: -len(".index")] if indexes else None


def is_google_dir(path):
    return os.path.isfile(os.path.join(path, "bert_config.json"))


def read_google_config(path):
    file = os.path.join(path, "bert_config.json")
    with open(file, encoding="utf-8") as f:
        data = json.load(f)
    # Google's modeling.py names its tanh approximation "gelu".
    if data.get("hidden_act", "gelu") == "gelu":
        data["hidden_act"] = "gelu_new"
    return hf_config_to_backbone(data, file)


_OPTIMIZER_SLOTS = ("/adam_m", "/adam_v")


def read_google_weights(path, prefixes=(BACKBONE_PREFIX,)):
    """Returns `({variable_name: ndarray}, checkpoint)` for the variables under
    `prefixes` (`"cls/"` holds the pre-training heads). Optimizer slots and
    `global_step` are never read, so a pre-training checkpoint costs no more
    memory than its weights."""
    import tensorflow as tf

    checkpoint = find_checkpoint(path)
    if checkpoint is None:
        raise FileNotFoundError(
            f"{path} has bert_config.json but no checkpoint (bert_model.ckpt.index and "
            "bert_model.ckpt.data-*). Unzip the whole release into that directory."
        )
    reader = tf.train.load_checkpoint(checkpoint)
    names = [name for name in reader.get_variable_to_shape_map()
             if name.startswith(tuple(prefixes)) and not name.endswith(_OPTIMIZER_SLOTS)]
    return {name: reader.get_tensor(name) for name in names}, checkpoint


def read_google_head_weights(path):
    """`({google_name: ndarray}, checkpoint)` for the pre-training heads (`cls/*`)."""
    return read_google_weights(path, prefixes=(HEAD_PREFIX,))


def read_google_task_head(path):
    """`(task, {google_name: ndarray}, None, checkpoint)` for the fine-tuning head of a
    checkpoint written by `run_classifier.py` (`output_weights`, `output_bias`) or
    `run_squad.py` (`cls/squad/*`); task None without one."""
    arrays, checkpoint = read_google_weights(path, prefixes=(*CLASSIFIER_WEIGHTS, "cls/squad/"))
    if set(SQUAD_WEIGHTS) <= set(arrays):
        return "question_answering", arrays, None, checkpoint
    if set(CLASSIFIER_WEIGHTS) <= set(arrays):
        return "sequence_classification", arrays, None, checkpoint
    return None, {}, None, checkpoint
