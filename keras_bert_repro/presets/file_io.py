"""The small writes every layout makes: a JSON file, a token-per-line vocabulary and
named arrays (HDF5), each written under a temporary name and renamed, so a crash
never leaves half a file under the final name."""

import json
import os

import h5py
import numpy as np


def write_json(file, data):
    """Writes `data` as indented UTF-8 JSON, creating the folder."""
    os.makedirs(os.path.dirname(file) or ".", exist_ok=True)
    partial = f"{file}.partial"
    with open(partial, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
    os.replace(partial, file)


def write_arrays(file, arrays):
    """Writes `{name: array}` to the HDF5 file `file` (names may hold `/`)."""
    partial = f"{file}.partial"
    with h5py.File(partial, "w") as f:
        for name, value in arrays.items():
            f.create_dataset(name, data=np.asarray(value))
    os.replace(partial, file)


def read_arrays(file, value=lambda dataset: dataset[()]):
    """`{name: value(dataset)}` of every dataset of the HDF5 file `file` (by default its
    array; `value=lambda d: d.dtype` reads only the dtypes)."""
    out = {}
    with h5py.File(file, "r") as f:
        f.visititems(lambda name, item: out.__setitem__(name, value(item))
                     if isinstance(item, h5py.Dataset) else None)
    return out


def write_tokens(file, tokens):
    """Writes one token per line (`vocab.txt`), creating the folder."""
    os.makedirs(os.path.dirname(file) or ".", exist_ok=True)
    partial = f"{file}.partial"
    with open(partial, "w", encoding="utf-8") as f:
        f.write("".join(token + "\n" for token in tokens))
    os.replace(partial, file)
