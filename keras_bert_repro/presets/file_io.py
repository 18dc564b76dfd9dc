"""The small writes every layout makes: a JSON file, a token-per-line vocabulary and
named arrays (HDF5), each written under a temporary name and renamed, so a crash
never leaves half a file under the final name; and the folder moves that put a
complete checkpoint in place (`replace_folder`, `replace_contents`)."""

import contextlib
import json
import os
import shutil
import tempfile

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


def new_folder(prefix, parent):
    """A new folder `<prefix><random>` in `parent`, with the permissions a plain
    `mkdir` would give (`tempfile.mkdtemp` makes a private 0700 one)."""
    folder = tempfile.mkdtemp(prefix=prefix, dir=parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(folder, 0o777 & ~umask)
    return folder


def replace_folder(staging, path):
    """Puts the complete folder `staging` at `path`: an existing `path` is renamed
    aside first and deleted after, so a kill never leaves a half-deleted folder
    under the final name (at worst `path` is briefly absent and the old copy
    stays under a hidden `.<name>.old-` name, which the next call removes)."""
    parent, name = os.path.split(os.path.abspath(path))
    for stale in os.listdir(parent):  # what a killed earlier call left behind
        if stale.startswith(f".{name}.old-"):
            shutil.rmtree(os.path.join(parent, stale), ignore_errors=True)
    old = None
    if os.path.exists(path):
        old = tempfile.mkdtemp(prefix=f".{name}.old-", dir=parent)
        os.rename(path, os.path.join(old, name))
    os.rename(staging, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


STAGING_PREFIX = ".partial-"
COMPLETE_PREFIX = ".complete-"  # staged, to replace every entry of the folder
UPDATE_PREFIX = ".update-"  # staged, to replace the entries of the same names
MOVING_PREFIX = ".moving-"
OLD_PREFIX = ".old-"
_HIDDEN = (STAGING_PREFIX, COMPLETE_PREFIX, UPDATE_PREFIX, MOVING_PREFIX, OLD_PREFIX)


def visible_entries(path):
    """The entries of `path`, leaving out the folders a write works in."""
    return [n for n in os.listdir(path) if not n.startswith(_HIDDEN)]


def replace_contents(path, staging):
    """Makes the folder `path` hold what the complete folder `staging` (a
    `STAGING_PREFIX` folder inside `path`) holds, in steps that a kill can stop
    anywhere: `staging` is renamed `.complete-` (the new contents now count as
    written), the old entries go into an `.old-` folder, the folder is renamed
    `.moving-`, its entries move in, and the old ones are deleted.
    `finish_replace(path)`, which every later read and write of `path` calls,
    completes the steps a kill left undone: `path` then holds the new contents
    whole, or (killed before the first rename) the old ones untouched."""
    _stage_done(path, staging, COMPLETE_PREFIX)


@contextlib.contextmanager
def updating(path):
    """Yields a hidden folder inside `path` to write files into; when the block
    ends, they replace the files of the same names in `path` as one change (the
    others stay), by `replace_contents`' steps: a kill leaves the old files or the
    new ones, never a mix of two writes. An error drops the staged files.

    Example:
    >>> with updating("/tmp/preset") as folder:  # doctest: +SKIP
    ...     write_json(os.path.join(folder, "config.json"), config)
    """
    os.makedirs(path, exist_ok=True)
    finish_replace(path)
    staging = new_folder(STAGING_PREFIX, path)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _stage_done(path, staging, UPDATE_PREFIX)


def _stage_done(path, staging, prefix):
    name = os.path.basename(staging)[len(STAGING_PREFIX):]
    os.rename(staging, os.path.join(path, prefix + name))
    finish_replace(path)


def finish_replace(path):
    """Completes a `replace_contents` or `updating` of `path` that a kill
    interrupted; a no-op otherwise."""
    if not os.path.isdir(path):
        return
    names = sorted(os.listdir(path))
    staged = _first(names, (COMPLETE_PREFIX, UPDATE_PREFIX))
    if staged:
        # Not yet moving in: the entries it replaces are all old.
        folder = os.path.join(path, staged)
        if staged.startswith(UPDATE_PREFIX):
            replaced = sorted(set(visible_entries(path)) & set(os.listdir(folder)))
        else:  # everything, the staging folders killed writes left included
            replaced = [n for n in os.listdir(path)
                        if n.startswith(STAGING_PREFIX) or not n.startswith(_HIDDEN)]
        old = tempfile.mkdtemp(prefix=OLD_PREFIX, dir=path)  # deleted below, never read
        for entry in replaced:
            os.rename(os.path.join(path, entry), os.path.join(old, entry))
        os.rename(folder, os.path.join(path, MOVING_PREFIX + staged.split("-", 1)[1]))
        names = sorted(os.listdir(path))
    moving = _first(names, MOVING_PREFIX)
    if moving:
        # Moving in: the entries of its names in `path` are new.
        folder = os.path.join(path, moving)
        for entry in os.listdir(folder):
            os.rename(os.path.join(folder, entry), os.path.join(path, entry))
        os.rmdir(folder)
    for old in [n for n in names if n.startswith(OLD_PREFIX)]:
        shutil.rmtree(os.path.join(path, old), ignore_errors=True)


def _first(names, prefixes):
    return next((n for n in names if n.startswith(prefixes)), None)
