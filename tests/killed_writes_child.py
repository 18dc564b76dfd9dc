"""Writes every kind of file the library writes, round after round, until killed
(tests/test_killed_writes.py): this library's task preset, an HF checkpoint over the
last one, a SavedModel over the last version, pre-training shards and a results file.

python tests/killed_writes_child.py OUT VOCAB CORPUS ROUNDS
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_bert_repro as kbr  # noqa: E402
from keras_bert_repro.data import create_pretraining_data  # noqa: E402
from recipes.common_flags import write_json  # noqa: E402


def main(out, vocab, corpus, rounds):
    tokenizer = kbr.BertTokenizer(vocab)
    keras.utils.set_random_seed(0)
    backbone = kbr.BertBackbone(vocabulary_size=tokenizer.vocabulary_size(), num_layers=1,
                                num_heads=2, hidden_dim=32, intermediate_dim=64,
                                max_sequence_length=32)
    model = kbr.BertClassifier(backbone, num_classes=2,
                               preprocessor=kbr.BertPreprocessor(tokenizer, sequence_length=32))
    print("ready", flush=True)
    for step in range(rounds):
        # Each round's weights differ, so a mix of two rounds would show.
        for variable in model.weights:
            variable.assign(np.full(variable.shape, step % 7 / 7, variable.dtype))
        model.save_to_preset(os.path.join(out, "preset"))
        model.save_to_preset(os.path.join(out, "hf"), format="hf", overwrite=True)
        kbr.export_saved_model(model, os.path.join(out, "export", "1"), warmup_texts=())
        create_pretraining_data(corpus, os.path.join(out, "shards", str(step)), tokenizer,
                                max_seq_length=32, dupe_factor=1, num_workers=0,
                                progress=False)
        write_json(os.path.join(out, "results.json"),
                   {"round": step, "scores": np.linspace(0, 1, 20_000).tolist()})
        print(f"round {step} written", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
