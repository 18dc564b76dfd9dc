"""SQuAD: where do ours and HF's fine-tuned results differ, windows, labels or answers?

Compares the two pipelines of `benchmarks/finetune_quality.py` on the same split:

1. Training windows: how many of ours and HF's have the same tokens, and of those,
   how many have the same answer start and end positions (the training labels).
2. With `--models=DIR` (the `--save_model` folder of two `finetune_quality --side=...`
   runs: `ours.keras` and `hf/`): each fine-tuned model's logits on each pipeline's
   evaluation windows, post-processed by that pipeline, scored with the official
   EM / F1. Rows are models, columns pipelines: a gap that follows the rows is in
   training, one that follows the columns is in windowing / post-processing.
3. With `--steps=N`: both models from the checkpoint with the same span-head
   weights and dropout off, trained N steps on the same first batches in the same
   order, the same AdamW schedule as the 2-epoch run: the per-step losses, and how
   far apart the span heads and word embeddings are after. Equal within float
   error, the training math is the same, and what differs between the sides' runs
   is their random draws.

    python -m benchmarks.squad_crosscheck --seed=1 --models=/tmp/sq1 --steps=20
"""

import argparse
import os

import numpy as np

from benchmarks.finetune_quality import HF_NAMES
from benchmarks.models import minilm_path


def our_windows(examples, preset, training):
    from keras_bert_repro.data.squad import questions_and_contexts
    from keras_bert_repro.text.squad_preprocessor import BertSquadPreprocessor

    preprocessor = BertSquadPreprocessor.from_preset(preset, sequence_length=384,
                                                     doc_stride=128, max_query_length=64)
    answers = [e.training_answer for e in examples] if training else None
    return preprocessor(questions_and_contexts(examples), answers=answers)


def hf_windows(examples, preset, training):
    import transformers

    from benchmarks.finetune_quality import hf_squad_features

    tokenizer = transformers.BertTokenizerFast.from_pretrained(preset)
    return hf_squad_features(tokenizer, examples, training=training)


def compare_training_windows(train, ours, preset):
    features, samples, _, starts, ends = hf_windows(train, preset, training=True)
    hf_ids = np.asarray(features["input_ids"])
    print(f"training windows: ours {len(ours)}, HF {len(hf_ids)}")
    # Pair windows by example and rank within the example.
    ours_by, hf_by = {}, {}
    for w, e in enumerate(ours.example_index):
        ours_by.setdefault(int(e), []).append(w)
    for w, e in enumerate(samples):
        hf_by.setdefault(int(e), []).append(w)
    same_tokens = same_labels = paired = 0
    label_diffs = []
    for e, windows in ours_by.items():
        for a, b in zip(windows, hf_by.get(e, [])):
            paired += 1
            if not np.array_equal(ours.token_ids[a], hf_ids[b]):
                continue
            same_tokens += 1
            ours_label = (int(ours.start_positions[a]), int(ours.end_positions[a]))
            if ours_label == (starts[b], ends[b]):
                same_labels += 1
            elif len(label_diffs) < 10:
                label_diffs.append((e, ours_label, (starts[b], ends[b])))
    print(f"paired windows {paired}: same tokens {same_tokens}, of those same labels "
          f"{same_labels}")
    for e, o, h in label_diffs:
        answer = train[e].training_answer
        print(f"  example {e} answer {answer['text']!r}: ours {o}, HF {h}")


def our_model(model_dir):
    """Ours fine-tuned: backbone inputs -> `[windows, 2, seq]` logits."""
    import keras

    import keras_bert_repro  # noqa: F401  (registers the classes)

    model = keras.saving.load_model(os.path.join(model_dir, "ours.keras"))
    return lambda inputs: np.asarray(model.predict(inputs, batch_size=64, verbose=0))


def hf_model(model_dir):
    """HF fine-tuned: backbone inputs (ours' names) -> `[windows, 2, seq]` logits."""
    import transformers

    from benchmarks.finetune_quality import hf_squad_logits

    model = transformers.BertForQuestionAnswering.from_pretrained(os.path.join(model_dir, "hf"))
    return lambda inputs: hf_squad_logits(model, {HF_NAMES[k]: v for k, v in inputs.items()})


def cross_evaluate(evaluation, preset, model_dir):
    from benchmarks.finetune_quality import hf_squad_answers
    from keras_bert_repro.evaluation import squad_metrics
    from keras_bert_repro.text.squad_postprocessing import best_answers

    ours = our_windows(evaluation, preset, training=False)
    features, samples, offsets, _, _ = hf_windows(evaluation, preset, training=False)
    hf_inputs = {k: np.asarray(features[k]) for k in HF_NAMES.values()}
    pipelines = {
        "ours": (ours.inputs, lambda logits: [a["text"] for a in best_answers(ours, logits)]),
        "HF": ({k: hf_inputs[v] for k, v in HF_NAMES.items()},
               lambda logits: hf_squad_answers(evaluation, samples, offsets, logits[:, 0],
                                               logits[:, 1])),
    }

    def score(answers):
        m = squad_metrics(evaluation, {e.id: a for e, a in zip(evaluation, answers)})
        return f"F1 {m['f1']:.1f} EM {m['exact_match']:.1f}"

    print(f"evaluation: {len(evaluation)} questions, windows ours {len(ours)}, "
          f"HF {len(samples)}")
    print("| model \\ pipeline | ours | HF |\n|---|---|---|")
    for name, load in (("ours", our_model), ("HF", hf_model)):
        logits_of = load(model_dir)
        cells = [score(answers_of(logits_of(inputs)))
                 for inputs, answers_of in pipelines.values()]
        print(f"| {name} fine-tuned | {cells[0]} | {cells[1]} |", flush=True)


def compare_training_steps(features, preset, steps, epochs=2):
    import keras
    import torch
    import transformers

    import keras_bert_repro as kbr
    from benchmarks.finetune_quality import hf_optimizer
    from benchmarks.models import hf_step

    total = -(-len(features) // 32) * epochs  # the full run's schedule
    hf = transformers.BertForQuestionAnswering.from_pretrained(
        preset, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    ours = kbr.BertQuestionAnswerer.from_preset(preset, sequence_length=384)
    for layer in ours._flatten_layers():
        if isinstance(layer, keras.layers.Dropout):
            layer.rate = 0.0
    head = ours.get_layer("span_logits")
    head.kernel.assign(hf.qa_outputs.weight.detach().numpy().T)
    head.bias.assign(hf.qa_outputs.bias.detach().numpy())
    embeddings = ours.backbone.get_layer("token_embedding").embeddings
    initial = {"span head": head.kernel.numpy(), "word embeddings": embeddings.numpy()}
    ours.compile(optimizer=kbr.training.bert_adamw(5e-5, total_steps=total))
    optimizer, scheduler = hf_optimizer(hf, argparse.Namespace(learning_rate=5e-5), total)
    hf.train()
    print(f"{steps} steps of batch 32, dropout off, AdamW 5e-5 over {total} steps")
    print("| step | ours loss | HF loss |\n|---:|---:|---:|")
    for step in range(steps):
        rows = slice(32 * step, 32 * step + 32)
        x = {k: v[rows] for k, v in features.inputs.items()}
        y = features.positions[rows]
        ours_loss = ours.train_on_batch(x, y, return_dict=True)["loss"]
        out = hf(**{HF_NAMES[k]: torch.tensor(v).long() for k, v in x.items()},
                 start_positions=torch.tensor(y[:, 0]).long(),
                 end_positions=torch.tensor(y[:, 1]).long())
        hf_step(hf, out.loss, optimizer, scheduler)
        print(f"| {step + 1} | {float(ours_loss):.5f} | {out.loss.item():.5f} |", flush=True)
    print("after: | weights | max abs(ours - HF) | mean abs(ours - HF) | mean abs(update) |\n"
          "|---|---:|---:|---:|")
    pairs = {
        "span head": (head.kernel.numpy(), hf.qa_outputs.weight.detach().numpy().T),
        "word embeddings": (embeddings.numpy(),
                            hf.bert.embeddings.word_embeddings.weight.detach().numpy()),
    }
    for name, (a, b) in pairs.items():
        print(f"| {name} | {np.abs(a - b).max():.2e} | {np.abs(a - b).mean():.2e} "
              f"| {np.abs(b - initial[name]).mean():.2e} |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max_train", type=int, default=2500)
    parser.add_argument("--train_fraction", type=float, default=0.8)
    parser.add_argument("--preset", default=None)
    parser.add_argument("--models", default=None)
    parser.add_argument("--steps", type=int, default=0)
    args = parser.parse_args()
    if args.preset is None:
        args.preset = minilm_path()
    from benchmarks.finetune_quality import load_squad

    args.max_eval, args.split_seed = 0, None
    train, evaluation = load_squad(args)
    windows = our_windows(train, args.preset, training=True)  # tokenized once for both
    compare_training_windows(train, windows, args.preset)
    if args.steps:
        compare_training_steps(windows, args.preset, args.steps)
    if args.models:
        cross_evaluate(evaluation, args.preset, args.models)


if __name__ == "__main__":
    main()
