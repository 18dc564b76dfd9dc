"""The exported SavedModels under concurrent load: 16 threads against one, same answers.

    python -m benchmarks.serving_load [--requests 400] [--threads 16] [--seed 0]
    python -m benchmarks.serving_load --smoke   # a tiny random model, seconds; no RESULTS.md

A sentence classifier and a question answerer (MiniLM-L6 from the real
checkpoint with random heads, sequence length 128; `--smoke`: a random 2-layer,
hidden-32 backbone on a 40-token vocabulary) are exported with
`kbr.export_saved_model` in this process, then loaded and served in a child
process that imports only TensorFlow and TF Text's op libraries, where an import of
Keras raises (`serving_tensorflow`; `tf.saved_model.load`, the `serving_default`
signature on raw strings, as TF Serving calls it). In the
child, per model, a fixed list of requests drawn with `--seed` (1 to 600 words,
empty and blank strings, literal "[CLS]" / "[SEP]" text, non-ASCII text, three
strings of 1,000,000 characters), each a batch of one:

1. a few warm-up calls (one per padded length the classifier can see);
2. every request once from one thread: the reference outputs, per-request latency;
3. the same requests from `--threads` threads at once (`ThreadPoolExecutor`),
   per-request latency measured around the call in its worker thread.

Every concurrent output must equal the reference: strings and integers exactly,
floats exactly or, where not bit-identical, within 1e-6 (absolute; the JSON
counts the outputs that were not bit-identical apart). Prints one JSON line per
model; exits 1 if any request failed or differed.
"""

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"  # export runs on TF whatever the backend: skip the hop

MODELS = ("classifier", "question_answerer")
MEGABYTE = 1_000_000  # characters
MAX_WORDS = 600
ATOL = 1e-6
SMOKE_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "?", "!", "'",
               "the", "a", "dog", "cat", "sat", "on", "mat", "what", "where", "who", "is",
               "was", "it", "and", "of", "to", "in", "run", "play", "game", "won", "team",
               "##s", "##ing", "##ed", "##er", "cafe", "東", "京", "ß"]
NON_ASCII = ["café", "naïve", "Crème", "brûlée", "İstanbul", "ﬁne", "straße", "Ⅻ", "東京",
             "日本語", "мир", "Ελλάδα", "العربية", "עברית", "😀", "e\u0301", "Å", "ﾃｽﾄ",
             "\u00a0", "\u3000"]
UNICODE = "Crème brûlée, Ⅻ und İstanbul: ﬁne 東京 café\u0301 naïve ß. 😀 مرحبا"


# === Parent: build and export ===================================================

def build(name, smoke):
    import keras

    import keras_bert_repro as kbr

    keras.utils.set_random_seed(0)
    if not smoke:
        from benchmarks.models import minilm_path

        if name == "classifier":
            return kbr.BertClassifier.from_preset(minilm_path(), num_classes=2,
                                                  sequence_length=128)
        return kbr.BertQuestionAnswerer.from_preset(minilm_path(), sequence_length=128,
                                                    doc_stride=64, max_query_length=32)
    tokenizer = kbr.BertTokenizer(SMOKE_VOCAB)
    backbone = kbr.BertBackbone(vocabulary_size=len(SMOKE_VOCAB), num_layers=2, num_heads=2,
                                hidden_dim=32, intermediate_dim=64, max_sequence_length=64)
    if name == "classifier":
        return kbr.BertClassifier(backbone, num_classes=2, preprocessor=kbr.BertPreprocessor(
            tokenizer, sequence_length=64, pad_to_multiple_of=16))
    return kbr.BertQuestionAnswerer(backbone, preprocessor=kbr.BertSquadPreprocessor(
        tokenizer, sequence_length=64, doc_stride=32, max_query_length=16))


def export(root, smoke):
    import keras_bert_repro as kbr

    dirs = {}
    for name in MODELS:
        dirs[name] = os.path.join(root, name, "1")
        kbr.export_saved_model(build(name, smoke), dirs[name], warmup_texts=None)
    return dirs


def serve_in_child(job):
    """Runs the serving side in a fresh interpreter (`-I`: no PYTHONPATH, not this
    folder on sys.path) from `/`; returns its JSON lines."""
    env = {**os.environ, "PYTHONPATH": "", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-I", os.path.abspath(__file__), "--child", job],
                          check=False, cwd="/", env=env, capture_output=True, text=True)
    if done.returncode:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"The serving process failed (exit {done.returncode}).")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def write_results(args, results):
    from benchmarks.results import rerun_command, table, write_section

    rows = []
    for r in results:
        one, many = r["one_thread"], r["concurrent"]
        rows.append(f"| {r['model']} | {r['requests']} | {r['errors']} | {r['mismatches']} | "
                    f"{one['requests_per_s']:.1f} | {one['p50_ms']:.1f} | {one['p99_ms']:.1f} | "
                    f"{many['requests_per_s']:.1f} | {many['p50_ms']:.1f} | "
                    f"{many['p99_ms']:.1f} | {many['requests_per_s'] / one['requests_per_s']:.2f}x |")
    exact = all(r["not_bit_identical"] == 0 for r in results)
    body = (
        "MiniLM-L6 (L6/H384/A12) from the real checkpoint with random heads, sequence length "
        "128 (question answerer: doc stride 64, questions cut to 32 tokens), exported with "
        "`kbr.export_saved_model` and served from a process that imports only TensorFlow and "
        "TF Text's op libraries (as TF Serving links them), where an import of Keras raises: "
        "`tf.saved_model.load`, the `serving_default` signature on raw strings, each "
        f"request a batch of one. Requests (seed {args.seed}): 1 to {MAX_WORDS} words "
        "(log-uniform), empty and blank strings, literal [CLS]/[SEP] text, non-ASCII text, and "
        "three strings of 1,000,000 characters (classifier: words, non-ASCII words, one "
        "unbroken word; question answerer: a context of words, which gives ~2,000 windows, a "
        "question, and an unbroken-word context). First every request from one thread (the "
        f"reference), then all of them from {args.threads} threads at once "
        "(`ThreadPoolExecutor`); latency is the call's own time in its thread (queueing not "
        "counted). Every concurrent "
        "output is compared with the one-thread output: "
        + ("all were bit-identical (`np.array_equal`)." if exact else
           f"strings and integers exactly, floats within {ATOL} (some were not bit-identical).")
        + "\n\n"
        + table(("model", "requests", "errors", "mismatches",
                 "1 thread (req/s)", "1 thread p50 (ms)", "1 thread p99 (ms)",
                 f"{args.threads} threads (req/s)", f"{args.threads} threads p50 (ms)",
                 f"{args.threads} threads p99 (ms)", "throughput ratio"), rows, text_columns=1)
        + "\n\nOne-thread latency of the 1,000,000-character requests: "
        + "; ".join(f"{r['model']}: " + ", ".join(f"{kind[4:]} {ms:.0f} ms" for kind, ms in
                                                   sorted(r["megabyte_one_thread_ms"].items()))
                    for r in results) + ".")
    write_section("Serving under load", rerun_command("benchmarks.serving_load"), body)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true",
                        help="a tiny random model and 24 requests; RESULTS.md untouched")
    parser.add_argument("--requests", type=int, default=None,
                        help="requests per model (default 400; --smoke 24)")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", help=argparse.SUPPRESS)  # the serving process's job file
    args = parser.parse_args()
    if args.child:
        return child(args.child)
    requests = args.requests or (24 if args.smoke else 400)
    with tempfile.TemporaryDirectory(prefix="kbr_serving_load_") as root:
        job = os.path.join(root, "job.json")
        with open(job, "w", encoding="utf-8") as f:
            json.dump({"models": export(root, args.smoke), "requests": requests,
                       "threads": args.threads, "seed": args.seed}, f)
        results = serve_in_child(job)
    for r in results:
        print(json.dumps(r), flush=True)
    if not args.smoke:
        write_results(args, results)
    failed = sum(r["errors"] + r["mismatches"] for r in results)
    if failed or len(results) != len(MODELS):
        raise SystemExit(f"{failed} requests failed or differed under load.")


# === Child: serve (TensorFlow and TF Text only) ================================

def word_pool(export_dir):
    """Whole words of the exported vocabulary (`assets/vocab.txt`) and some it lacks."""
    with open(os.path.join(export_dir, "assets", "vocab.txt"), encoding="utf-8") as f:
        tokens = [line.rstrip("\n") for line in f]
    words = [t for t in tokens if t.isalpha() and t.isascii()]
    return words + ["unseenword", "Capitalised", "x"]


def draw_text(rng, pool, words):
    out = []
    for _ in range(words):
        p = rng.random()
        out.append(rng.choice(NON_ASCII) if p < 0.05 else rng.choice(("[CLS]", "[SEP]"))
                   if p < 0.07 else rng.choice(".,?!") if p < 0.12 else rng.choice(pool))
    return " ".join(out)


def draw_words(rng):
    return max(1, round(math.exp(rng.uniform(0, math.log(MAX_WORDS)))))


def megabyte(rng, pool, kind):
    """1,000,000 characters: words of the vocabulary, non-ASCII words, or one word."""
    if kind == "word":
        return "".join(rng.choice("abcdefghij") for _ in range(MEGABYTE))
    choices = pool if kind == "words" else NON_ASCII[:-2] + pool[:50]
    parts, size = [], 0
    while size < MEGABYTE:
        parts.append(rng.choice(choices))
        size += len(parts[-1]) + 1
    return " ".join(parts)[:MEGABYTE]


def make_requests(name, count, rng, pool):
    """`count` signature inputs (each a batch of one) and, per request, its kind."""
    if name == "classifier":
        fixed = [("", "empty"), ("   \t ", "blank"), ("[CLS]", "special"), ("[SEP]", "special"),
                 ("[CLS] [SEP]", "special"), ("[SEP] the [CLS] end [MASK] [PAD] [UNK]", "special"),
                 (UNICODE, "non-ascii"), ("東京 " * 300, "non-ascii")]
        fixed += [(megabyte(rng, pool, kind), f"1MB {kind}")
                  for kind in ("words", "non-ascii", "word")]
        short = [(draw_text(rng, pool, draw_words(rng)), "random")
                 for _ in range(count - len(fixed))]
        pairs = fixed + short
        requests = [({"text": [text]}, kind) for text, kind in pairs]
    else:
        def question():
            return draw_text(rng, pool, rng.randint(1, 20))

        fixed = [(("", ""), "empty"), (("", draw_text(rng, pool, 50)), "empty"),
                 ((question(), ""), "empty"), (("[CLS]", "[SEP]"), "special"),
                 (("[SEP]", "some context [CLS] here [SEP] and more"), "special"),
                 ((UNICODE, UNICODE), "non-ascii"), ((question(), "東京 " * 300), "non-ascii")]
        fixed += [((question(), megabyte(rng, pool, "words")), "1MB context"),
                  ((megabyte(rng, pool, "words"), draw_text(rng, pool, 100)), "1MB question"),
                  ((question(), megabyte(rng, pool, "word")), "1MB context word")]
        short = [((question(), draw_text(rng, pool, draw_words(rng))), "random")
                 for _ in range(count - len(fixed))]
        requests = [({"question": [q], "context": [c]}, kind) for (q, c), kind in fixed + short]
    if count < len(requests):
        raise SystemExit(f"--requests={count} is fewer than the {len(requests)} fixed cases.")
    rng.shuffle(requests)
    return [r for r, _ in requests], [k for _, k in requests]


def serving_tensorflow():
    """TensorFlow as a model server has it: Keras refused (an import of it raises)
    and TF Text's op libraries loaded, as TF Serving links them, without the
    `tensorflow_text` Python package (which imports Keras)."""
    import glob
    import importlib.util

    sys.modules["keras"] = sys.modules["tf_keras"] = None
    import tensorflow as tf

    ops = importlib.util.find_spec("tensorflow_text").submodule_search_locations[0]
    for library in sorted(glob.glob(os.path.join(ops, "python", "ops", "_*.so"))):
        tf.load_op_library(library)
    return tf


def child(job_file):
    tf = serving_tensorflow()

    with open(job_file, encoding="utf-8") as f:
        job = json.load(f)
    for name, export_dir in job["models"].items():
        serve = tf.saved_model.load(export_dir).signatures["serving_default"]
        pool = word_pool(export_dir)
        requests, kinds = make_requests(name, job["requests"], random.Random(job["seed"]), pool)
        result = load_test(serve, requests, job["threads"], pool)
        latencies = result.pop("one_thread_latencies")
        result = {"benchmark": "serving_load", "model": name, **result,
                  "megabyte_one_thread_ms": {kind: round(ms, 1) for ms, kind in
                                             zip(latencies, kinds) if kind.startswith("1MB")}}
        print(json.dumps(result), flush=True)
    leaked = [m for m in sys.modules if m.startswith(("keras_bert_repro", "tensorflow_text"))]
    assert not leaked and sys.modules["keras"] is None, f"the serving process imported {leaked}"


def load_test(serve, requests, threads, pool):
    import concurrent.futures

    import numpy as np
    import tensorflow as tf

    def call(request):
        start = time.perf_counter()
        try:
            out = serve(**{k: tf.constant(v) for k, v in request.items()})
            out = {k: v.numpy() for k, v in out.items()}
        except Exception as e:  # noqa: BLE001  counted and reported, not raised
            out = f"{type(e).__name__}: {str(e)[:300]}"
        return out, time.perf_counter() - start

    # Warm-up: one call per padded length the classifier sees (16, 32, ... tokens).
    for words in (1, 10, 25, 40, 55, 70, 85, 100, 115, 130):
        text = " ".join(pool[i % len(pool)] for i in range(words))
        call({k: [text] for k in requests[0]})

    start = time.perf_counter()
    reference = [call(r) for r in requests]
    one_wall = time.perf_counter() - start
    with concurrent.futures.ThreadPoolExecutor(threads) as executor:
        start = time.perf_counter()
        concurrent_out = list(executor.map(call, requests))
        many_wall = time.perf_counter() - start

    errors, mismatches, inexact = [], 0, 0
    for (ref, _), (out, _) in zip(reference, concurrent_out):
        if isinstance(ref, str) or isinstance(out, str):
            errors += [x for x in (ref, out) if isinstance(x, str)]
            continue
        exact, close = compare(ref, out, np)
        inexact += not exact
        mismatches += not close

    def timing(results, wall):
        ms = np.array([seconds for _, seconds in results]) * 1000
        return {"requests_per_s": len(results) / wall, "p50_ms": float(np.percentile(ms, 50)),
                "p99_ms": float(np.percentile(ms, 99)), "max_ms": float(ms.max()),
                "wall_s": wall}

    return {"requests": len(requests), "threads": threads, "errors": len(errors),
            "mismatches": mismatches, "not_bit_identical": inexact,
            "comparison": f"strings/ints np.array_equal; floats np.array_equal, else "
                          f"np.allclose(rtol=0, atol={ATOL})",
            "first_errors": errors[:3], "one_thread": timing(reference, one_wall),
            "concurrent": timing(concurrent_out, many_wall),
            "one_thread_latencies": [seconds * 1000 for _, seconds in reference]}


def compare(ref, out, np):
    """(bit-identical, equal within ATOL) over every output of one request."""
    if sorted(ref) != sorted(out):
        return False, False
    exact = close = True
    for key, a in ref.items():
        b = out[key]
        same = a.shape == b.shape and a.dtype == b.dtype and np.array_equal(
            a, b, equal_nan=a.dtype.kind in "fc")
        exact &= same
        if not same:
            close &= (a.dtype.kind in "fc" and a.shape == b.shape
                      and np.allclose(a, b, rtol=0, atol=ATOL, equal_nan=True))
    return exact, close


if __name__ == "__main__":
    main()
