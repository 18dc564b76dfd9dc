"""The table and plots of `recipes/ablations.py`, made from the result files it wrote.

    python recipes/ablation_report.py runs/ablations     # remake them from what is there

Reads `<dir>/finetune/<variant>/<task>/seed-*.json`, `<dir>/heldout/<model>/step-*.json`
and `<dir>/curve/<variant>/step-*.json`; writes `<dir>/ablations.md` (the table in
the paper's layout, mean +- sd over seeds, and each ordering the paper expects, as
measured) and, with matplotlib, `heldout_accuracy.png` and `figure5.png`.
"""

import glob
import json
import os
import statistics
import sys

ROWS = {
    "mlm_nsp": "MLM + NSP (BERT-Tiny L2/H128)",
    "mlm": "MLM, no NSP",
    "ltr": "LTR, no NSP",
    "ltr_bilstm": "LTR, no NSP, + BiLSTM",
    "mini": "MLM + NSP, L4/H256",
    "small": "MLM + NSP, L4/H512",
}
TASKS = ("sst2", "mrpc", "cola", "stsb", "squad")
# Which metric of each task the table reports (the paper's Table 5: MRPC accuracy).
TASK_METRIC = {"sst2": "accuracy", "mrpc": "accuracy", "cola": "matthews_corrcoef",
               "stsb": "spearman", "squad": "f1"}
TASK_NAMES = {"sst2": "SST-2 (acc)", "mrpc": "MRPC (acc)", "cola": "CoLA (MCC)",
              "stsb": "STS-B (Spearman)", "squad": "SQuAD (F1)"}
# The paper's Table 5 (BERT-Base, dev), for reference: SST-2, MRPC, SQuAD v1.1 F1.
PAPER = {"mlm_nsp": {"sst2": 92.7, "mrpc": 86.7, "squad": 88.5},
         "mlm": {"sst2": 92.6, "mrpc": 86.5, "squad": 87.9},
         "ltr": {"sst2": 92.1, "mrpc": 77.5, "squad": 77.8},
         "ltr_bilstm": {"sst2": 91.6, "mrpc": 75.7, "squad": 84.9}}
# (better, worse, tasks): the orderings the paper reports (Section 5.1, 5.2).
ORDERINGS = [("mlm_nsp", "mlm", ("mrpc", "squad")), ("mlm", "ltr", ("mrpc", "squad")),
             ("ltr_bilstm", "ltr", ("squad",)),
             ("mini", "mlm_nsp", None), ("small", "mini", None)]
LABELS = {"mlm_nsp": "MLM + NSP", "mlm": "MLM", "ltr": "LTR (next-token accuracy)",
          "mini": "MLM + NSP, L4/H256", "small": "MLM + NSP, L4/H512"}


def _read(pattern):
    values = []
    for path in sorted(glob.glob(pattern)):
        with open(path, encoding="utf-8") as f:
            values.append(json.load(f))
    return values


def scores(directory, variant, task, metric):
    """The seeds' scores in percent (GLUE's fractions times 100; SQuAD's are percent)."""
    runs = _read(os.path.join(directory, "finetune", variant, task, "seed-*.json"))
    return [r[metric] * (1 if task == "squad" else 100) for r in runs]


def log_time(directory, what, seconds):
    """Appends `{"what", "seconds"}` as one line of `<directory>/timing.jsonl`."""
    with open(os.path.join(directory, "timing.jsonl"), "a", encoding="utf-8") as f:
        f.write(json.dumps({"what": what, "seconds": round(seconds, 1)}) + "\n")


def compute_time(directory):
    """`(seconds, pieces)` summed over timing.jsonl (a line cut short by a kill is skipped)."""
    total, pieces = 0.0, 0
    path = os.path.join(directory, "timing.jsonl")
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    total += float(json.loads(line)["seconds"])
                except (ValueError, KeyError, TypeError):
                    continue
                pieces += 1
    return total, pieces


def _cell(values):
    if not values:
        return ""
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


def _save(figure, path):
    import matplotlib.pyplot as plt

    figure.tight_layout()
    figure.savefig(path + ".tmp.png", dpi=110)
    plt.close(figure)
    os.replace(path + ".tmp.png", path)
    return path


def table(directory, variants, tasks, metrics):
    lines = ["| model | " + " | ".join(TASK_NAMES[t] for t in tasks) + " |",
             "|---|" + "---:|" * len(tasks)]
    for variant in variants:
        cells = [_cell(scores(directory, variant, t, metrics[t])) for t in tasks]
        lines.append(f"| {ROWS[variant]} | " + " | ".join(cells) + " |")
    for variant in variants:
        if variant in PAPER:
            cells = [f"{PAPER[variant][t]:.1f}" if t in PAPER[variant] else "" for t in tasks]
            lines.append(f"| *paper, BERT-Base: {ROWS[variant].split(' (')[0]}* | "
                         + " | ".join(cells) + " |")
    return "\n".join(lines)


def orderings(directory, variants, tasks, metrics):
    """One line per expected ordering: holds / does not, with the means and spreads."""
    lines = []
    for better, worse, which in ORDERINGS:
        if better not in variants or worse not in variants:
            continue
        for task in [t for t in tasks if which is None or t in which]:
            a, b = (scores(directory, v, task, metrics[task]) for v in (better, worse))
            if not a or not b:
                continue
            mean_a, mean_b = statistics.mean(a), statistics.mean(b)
            spread = max(statistics.stdev(a) if len(a) > 1 else 0.0,
                         statistics.stdev(b) if len(b) > 1 else 0.0)
            verdict = ("tie" if mean_a == mean_b else "holds" if mean_a > mean_b
                       else "does not hold")
            if mean_a != mean_b and abs(mean_a - mean_b) <= spread:
                verdict += " (within one sd)"
            lines.append(f"- {ROWS[better]} > {ROWS[worse]} on {TASK_NAMES[task]}: {verdict}, "
                         f"{_cell(a)} vs {_cell(b)}")
    return lines


def _plot_heldout(directory, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = {}
    for record in _read(os.path.join(directory, "heldout", "*", "step-*.json")):
        curves.setdefault(record["variant"], []).append((record["step"], record["accuracy"]))
    if not curves:
        return None
    figure, axes = plt.subplots(figsize=(6.4, 4.0))
    for name, points in sorted(curves.items()):
        size, objective = name.split("_", 1)
        variant = objective if size == "tiny" else size
        steps, accuracy = zip(*sorted(points))
        axes.plot(steps, [100 * a for a in accuracy], marker="o", label=LABELS.get(variant, name))
    axes.set_xlabel("pre-training step")
    axes.set_ylabel("held-out accuracy (%), WikiText-2 valid")
    axes.set_title("Masked-LM accuracy along pre-training")
    axes.grid(alpha=0.3)
    axes.legend()
    return _save(figure, path)


def _plot_curve(directory, task, metric, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = _read(os.path.join(directory, "curve", "*", "step-*.json"))
    if not runs:
        return None
    figure, axes = plt.subplots(figsize=(6.4, 4.0))
    for variant in sorted({r["variant"] for r in runs}):
        points = sorted((int(os.path.basename(r["preset"]).split("-")[1]), 100 * r[metric])
                        for r in runs if r["variant"] == variant)
        axes.plot(*zip(*points), marker="o", label=ROWS[variant].split(" (")[0])
    axes.set_xlabel("pre-training step")
    axes.set_ylabel(f"{TASK_NAMES[task]} dev (%)")
    axes.set_title(f"Fine-tuned from snapshots: MLM vs left-to-right ({task})")
    axes.grid(alpha=0.3)
    axes.legend()
    return _save(figure, path)


def heldout_table(directory):
    records = _read(os.path.join(directory, "heldout", "*", "step-*.json"))
    steps = sorted({r["step"] for r in records})
    names = sorted({r["variant"] for r in records})
    lines = ["| pre-trained model | " + " | ".join(f"step {s}" for s in steps) + " |",
             "|---|" + "---:|" * len(steps)]
    for name in names:
        by_step = {r["step"]: r["accuracy"] for r in records if r["variant"] == name}
        lines.append(f"| {name} | " + " | ".join(
            f"{100 * by_step[s]:.1f}" if s in by_step else "" for s in steps) + " |")
    return "\n".join(lines)


def write(directory, variants, tasks, metrics, curve_task, setup=""):
    """Writes ablations.md and the plots; returns the paths written."""
    variants = [v for v in ROWS if v in variants]
    if not setup and os.path.isfile(os.path.join(directory, "run.json")):
        with open(os.path.join(directory, "run.json"), encoding="utf-8") as f:
            settings = json.load(f)["settings"]
        setup = "Settings (recipes/ablations.py flags): " + ", ".join(
            f"{k}={v}" for k, v in sorted(settings.items()))
    written = []
    plots = []
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("ablation_report: pip install matplotlib for the plots", file=sys.stderr)
    else:
        plots = [p for p in (
            _plot_heldout(directory, os.path.join(directory, "heldout_accuracy.png")),
            _plot_curve(directory, curve_task, metrics[curve_task],
                        os.path.join(directory, "figure5.png"))) if p]
    seconds, pieces = compute_time(directory)
    if pieces:
        setup += (f"\n\nCompute: {seconds / 3600:.2f} h ({seconds / 60:.0f} min), the sum of "
                  f"{pieces} timed pieces of work (vocabulary, pre-trainings, held-out "
                  "evaluations, fine-tuning runs) across every invocation of the run.")
    text = ["# Ablations at small scale", "", setup, "",
            "Dev scores in percent, mean ± sd over fine-tuning seeds; the paper's BERT-Base "
            "figures (Table 5) below for reference.", "",
            table(directory, variants, tasks, metrics), "",
            "Orderings the paper reports, as measured here:", "",
            *(orderings(directory, variants, tasks, metrics) or ["- (not enough runs yet)"]), "",
            "Held-out accuracy (%) along pre-training (masked LM; LTR: next token):", "",
            heldout_table(directory), ""]
    text += [f"![{os.path.basename(p)}]({os.path.basename(p)})" for p in plots]
    path = os.path.join(directory, "ablations.md")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write("\n".join(text) + "\n")
    os.replace(path + ".tmp", path)
    written.append(path)
    return written + plots


if __name__ == "__main__":
    directory = sys.argv[1] if len(sys.argv) > 1 else "runs/ablations"
    for written in write(directory, list(ROWS), list(TASKS), TASK_METRIC, "sst2"):
        print(written)
