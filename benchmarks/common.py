"""Helpers shared by the benchmarks: data from ../shared/data, timing, child processes
(one per Keras backend), and importing the library where TensorFlow is missing.
Model-side helpers (checkpoint, inputs, training steps) are in `benchmarks.models`."""

import argparse
import atexit
import csv
import importlib.util
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types

# Keras fixes its backend at import: a benchmark over backends runs one child per backend.
BACKENDS = ("tensorflow", "jax", "torch")

SHARED_DATA = os.environ.get(
    "KBR_SHARED_DATA",
    os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))


def data_path(*parts):
    path = os.path.join(SHARED_DATA, *parts)
    if not os.path.exists(path):
        raise SystemExit(f"Benchmark data {path} is missing: ../shared/data must sit beside the repo.")
    return path


def sst2(split="train"):
    with open(data_path("glue", "SST-2", f"{split}.tsv"), encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    return [r[0] for r in rows], [int(r[1]) for r in rows]


def wikipedia_lines():
    folder = data_path("wikipedia-sample")
    lines = []
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            lines += [l.strip() for l in f if l.strip() and not l.startswith(("<doc", "</doc"))]
    return lines


def median_time(fn, repeats):
    """Median wall time of `fn()` over `repeats` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved(fns, repeats):
    """{name: median seconds}, timing the candidates round-robin so drift hits all alike."""
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def run_child(module, backend, *flags):
    """Runs `python -m module *flags` with `KERAS_BACKEND=backend` (Keras fixes the
    backend at import, so each backend gets a process) and returns the JSON object the
    child printed last; on failure, prints the child's stderr tail and exits."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-m", module, *flags], env=env, capture_output=True,
                         text=True)
    if out.returncode:
        sys.stderr.write(out.stderr[-3000:])
        raise SystemExit(f"{module} {' '.join(flags)} failed on {backend}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def child_flags(args, *names):
    """`--name=value` for each of `names`, from the parsed `args`: the parent's flags
    handed on to a child run."""
    return [f"--{name}={getattr(args, name)}" for name in names]


def per_backend_parser():
    """The flags of a fixed-shape benchmark timed in one child process per backend
    (`--child`): --batch, --length, --repeats and --backends (comma-separated)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--backends", type=lambda s: s.split(","), default=list(BACKENDS))
    parser.add_argument("--child", action="store_true")
    return parser


def each_backend(module, args, *names):
    """(backend, result) for each of `args.backends`: `python -m module --child` run
    with that backend and the flags `names` of `args` (`run_child`)."""
    for backend in args.backends:
        yield backend, run_child(module, backend, "--child", *child_flags(args, *names))


def peak_rss_mb():
    """This process's peak resident memory so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def import_without_tensorflow():
    """Register keras_bert_repro's packages whose `__init__` loads TF Text as bare
    namespaces, so that their TF-free modules (backbone, layers, optimizers, presets,
    SQuAD reading and metrics) import on a machine without TensorFlow."""
    try:
        import tensorflow  # noqa: F401
        return
    except ImportError:
        pass
    root = importlib.util.find_spec("keras_bert_repro").submodule_search_locations[0]
    for name in ("", "models", "training", "data", "text"):
        module = types.ModuleType("keras_bert_repro" + (f".{name}" if name else ""))
        module.__path__ = [os.path.join(root, name) if name else root]
        sys.modules[module.__name__] = module


def float32_preset(preset):
    """`preset`, or a float32 copy of it when its weights were stored in half
    precision (to make a transfer smaller): both sides then start from the same
    float32 weights."""
    import numpy as np
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    path = os.path.join(preset, "model.safetensors")
    with safe_open(path, "np") as f:  # reads the header only
        if not any(f.get_slice(k).get_dtype() == "F16" for k in f.keys()):
            return preset
    weights = load_file(path)
    copy = tempfile.mkdtemp(prefix="kbr_float32_preset_")
    atexit.register(shutil.rmtree, copy, True)
    for name in os.listdir(preset):
        if name != "model.safetensors" and os.path.isfile(os.path.join(preset, name)):
            os.symlink(os.path.join(os.path.abspath(preset), name), os.path.join(copy, name))
    save_file({k: v.astype(np.float32) if v.dtype == np.float16 else v
               for k, v in weights.items()},
              os.path.join(copy, "model.safetensors"), metadata={"format": "pt"})
    return copy
