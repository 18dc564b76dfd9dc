"""Presets: files in, config and arrays out; nothing here builds a model.

Reads every layout `from_preset` takes:
- a registry name (`list_presets()`), fetched into a local cache;
- Google's original layout: `bert_config.json`, `bert_model.ckpt.*`, `vocab.txt`;
- an HF directory: `config.json` + `model.safetensors` (or `pytorch_model.bin`);
- a keras-hub BERT preset: `config.json` (keras_hub>BertBackbone) + `model.weights.h5`;
- this library's own layout, which `BertBackbone.save_to_preset` writes (`own`).
Weights come out under Google's TF1 names (`weight_names`); `models/` assigns them.

Writes, from a `Checkpoint` (config, arrays, vocabulary) that `models/` fills:
HF transformers, keras-hub and Google's layout (`write_checkpoint`), and its own.

Example:
>>> path = resolve_preset("/path/to/uncased_L-12_H-768_A-12")  # doctest: +SKIP
>>> read_backbone_config(path)["num_layers"]  # doctest: +SKIP
12
"""

from keras_bert_repro.presets.checkpoint import CLASSIFIER_WEIGHTS, SQUAD_WEIGHTS, TASKS, Checkpoint
from keras_bert_repro.presets.download import PresetDownloadError
from keras_bert_repro.presets.errors import CorruptPreset, reading
from keras_bert_repro.presets.file_io import updating
from keras_bert_repro.presets.own import (
    own_weights_dtypes, own_weights_file, read_own_task, write_own_config, write_own_task,
    write_vocabulary)
from keras_bert_repro.presets.reader import (
    FORMATS, BackboneWeights, TaskHead, detect_format, read_backbone_config,
    read_backbone_weights, read_head_weights, read_task_head, resolve_preset)
from keras_bert_repro.presets.registry import PRESETS, Preset, get_preset, list_presets
from keras_bert_repro.presets.tokenizer_files import (
    infer_lowercase, tokenizer_lowercase, vocabulary_file, write_tokenizer_files)
from keras_bert_repro.presets.weight_names import BACKBONE_PREFIX, HEAD_PREFIX, HEADS
from keras_bert_repro.presets.writer import (
    WRITERS, UnsupportedCheckpoint, check_writable, write_checkpoint)
