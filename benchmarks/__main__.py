"""`python -m benchmarks` (or `make bench`): every benchmark with its defaults, each
writing its section of benchmarks/RESULTS.md (run a module alone for its flags)."""

import os
import subprocess
import sys

from benchmarks.common import BACKENDS

SUITE = ("benchmarks.tokenizer", "benchmarks.forward", "benchmarks.train_step",
         "benchmarks.fit_sst2", "benchmarks.memory", "benchmarks.serving",
         "benchmarks.pretraining_data", "benchmarks.serving_load", "benchmarks.compilations")
# Fixed-backend benchmarks (Keras picks the backend at import): one run per backend.
PER_BACKEND = ("benchmarks.pretraining",)

if __name__ == "__main__":
    for module in SUITE:
        print(f"== {module}", flush=True)
        subprocess.run([sys.executable, "-m", module], check=True)
    for module in PER_BACKEND:
        for backend in BACKENDS:
            print(f"== {module} ({backend})", flush=True)
            subprocess.run([sys.executable, "-m", module], check=True,
                           env={**os.environ, "KERAS_BACKEND": backend})
