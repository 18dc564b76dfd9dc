"""`python -m benchmarks` (or `make bench`): every benchmark, each writing its
section of benchmarks/RESULTS.md."""

import subprocess
import sys

SUITE = ("benchmarks.tokenizer", "benchmarks.forward")

if __name__ == "__main__":
    for module in SUITE:
        print(f"== {module}", flush=True)
        subprocess.run([sys.executable, "-m", module, *sys.argv[1:]], check=True)
