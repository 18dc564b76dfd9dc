"""Plots the held-out MLM accuracy curves of the pre-training benchmark runs
recorded in RESULTS.md (ours against keras-hub, every seed and objective run at
the same steps on one backend) into benchmarks/pretraining.png, and prints the
mean per quarter of each model (a rerun that repeats a curve counts once) and
each run's gap to the keras-hub run trained beside it.

    python -m benchmarks.pretraining_plot [--backend tensorflow --steps 2000]

It reads the sections that `benchmarks.pretraining` wrote, so the figure shows
exactly the table's numbers.
"""

import argparse
import os
import re

import numpy as np

from benchmarks.results import RESULTS

PLOT = os.path.join(os.path.dirname(__file__), "pretraining.png")
SECTION = re.compile(r"<!-- (Pre-training BERT-Tiny \(([a-z]+)[^)]*\)):start -->\n(.*?)"
                     r"<!-- \1:end -->", re.S)


def runs(text, backend, steps):
    """[(label, [accuracy % after each quarter])] of the runs of `steps` steps on
    `backend`; labels name the model, ours' objective and the seed."""
    found = []
    for _, section_backend, body in SECTION.findall(text):
        command = re.search(r"`([^`]*benchmarks\.pretraining[^`]*)`", body).group(1)
        if section_backend != backend or f"--steps={steps} " not in command + " ":
            continue
        seed = re.search(r"--seed=(\d+)", command)
        seed = seed.group(1) if seed else "0"
        objective = re.search(r"--objective=(\w+)", command)
        dupe = re.search(r"--dupe_factor=(\d+)", command)
        hub = "keras-hub on ours' batches" if "--keras_hub_data=instances" in command \
            else "keras-hub"
        ours = (objective.group(1) if objective else "mlm_nsp") + (
            f", dupe_factor {dupe.group(1)}" if dupe else "")
        for line in body.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells[0] in ("ours", "keras-hub") and " / " in cells[3]:
                label = f"ours, {ours}, seed {seed}" if cells[0] == "ours" else \
                    f"{hub}, seed {seed}" + (f" (beside ours {ours})" if objective or dupe
                                             else "")
                found.append((label, [float(v) for v in cells[3].split(" / ")]))
    return found


def distinct(curves):
    """`curves` less repeats: a model trained again on the same stream of batches
    (same seed) gives the same curve, which is one run, not two."""
    seen, found = set(), []
    for label, accuracy in curves:
        run = label.split(" (beside")[0]  # the model and seed, whatever ran beside it
        key = (run, tuple(accuracy))
        if key not in seen:
            seen.add(key)
            found.append((run if run.startswith("keras-hub on") else label, accuracy))
    return found


def gaps(curves):
    """{"ours ... - keras-hub ...": [[ours - keras-hub, per quarter] per run]}: each
    run's ours curve against the keras-hub curve trained beside it."""
    found = {}
    for (ours, a), (hub, b) in zip(curves, curves[1:]):
        if ours.startswith("ours") and hub.startswith("keras-hub"):
            name = f"{ours.split(', seed')[0]} - {hub.split(', seed')[0]}"
            found.setdefault(name, []).append([x - y for x, y in zip(a, b)])
    return found


def plot(curves, steps, path=PLOT):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4.4))
    for label, accuracy in curves:
        x = [steps * (q + 1) // len(accuracy) for q in range(len(accuracy))]
        style = "--" if label.startswith("keras-hub") else "-"
        color = ("black" if "ours' batches" in label else "tab:gray") if label.startswith(
            "keras-hub") else (
            "tab:green" if "dupe_factor" in label else
            "tab:blue" if "mlm_nsp" in label else "tab:orange")
        marker = "os^vD"[int(re.search(r"seed (\d+)", label).group(1)) % 5]  # one per seed
        ax.plot(x, accuracy, style, marker=marker, color=color, label=label)
    ax.set_xlabel("pre-training step (batch 32 x 128)")
    ax.set_ylabel("held-out MLM accuracy, WikiText-2 (%)")
    ax.set_title("BERT-Tiny from scratch: ours vs keras-hub BertMaskedLM")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))  # beside the curves
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="tensorflow")
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args()
    curves = runs(open(RESULTS, encoding="utf-8").read(), args.backend, args.steps)
    if not curves:
        raise SystemExit(f"No {args.steps}-step {args.backend} run of benchmarks.pretraining "
                         f"with a held-out curve in {RESULTS}.")
    unique = distinct(curves)
    plot(unique, args.steps)
    groups = {}
    for label, accuracy in unique:
        groups.setdefault(label.split(", seed")[0], []).append(accuracy)
    for name, accuracies in groups.items():
        mean = np.mean(accuracies, axis=0)
        print(f"{name} ({len(accuracies)} run(s)): mean " + " / ".join(f"{a:.2f}" for a in mean))
    for name, differences in gaps(curves).items():
        mean = np.mean(differences, axis=0)
        sd = np.std(differences, axis=0, ddof=1) if len(differences) > 1 else None
        print(f"{name} ({len(differences)} paired run(s)): " + " / ".join(
            f"{m:+.2f}" + ("" if sd is None else f" +- {sd[q]:.2f}")
            for q, m in enumerate(mean)))
    print(f"wrote {PLOT}")


if __name__ == "__main__":
    main()
