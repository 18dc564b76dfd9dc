"""Fetching a registry preset: Google's zip, downloaded once into a local cache."""

import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile

from tqdm.auto import tqdm

OFFLINE_ENV = "KERAS_BERT_REPRO_OFFLINE"


def cache_dir():
    """`$KERAS_BERT_REPRO_HOME`, else `~/.cache/keras_bert_repro`."""
    return os.environ.get(
        "KERAS_BERT_REPRO_HOME", os.path.join(os.path.expanduser("~"), ".cache", "keras_bert_repro")
    )


class PresetDownloadError(OSError):
    """A registry preset could not be downloaded (no network, or refused)."""


def _download_error(preset, target, reason):
    return PresetDownloadError(
        f"Could not download preset {preset.name!r} from {preset.url} ({reason}). "
        f"Download and unzip it yourself, then pass the directory: "
        f"BertBackbone.from_preset('/path/to/{preset.folder}'), or unzip it into "
        f"{target} so the name resolves offline."
    )


def fetch(preset, timeout=30):
    """Returns the local directory of `preset`, downloading its zip if needed."""
    target = os.path.join(cache_dir(), preset.name)
    if os.path.isfile(os.path.join(target, "bert_config.json")):
        return target
    if os.environ.get(OFFLINE_ENV):
        raise _download_error(preset, target, f"{OFFLINE_ENV} is set")
    os.makedirs(cache_dir(), exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
        archive = os.path.join(tmp, "preset.zip")
        try:
            with urllib.request.urlopen(preset.url, timeout=timeout) as response, \
                    open(archive, "wb") as out:
                total = int(response.headers.get("Content-Length", 0)) or None
                with tqdm(total=total, unit="B", unit_scale=True,
                          desc=f"Downloading {preset.name}") as bar:
                    while chunk := response.read(1 << 20):
                        out.write(chunk)
                        bar.update(len(chunk))
        except (urllib.error.URLError, OSError) as e:
            raise _download_error(preset, target, e) from e
        with zipfile.ZipFile(archive) as z:
            z.extractall(tmp)
        found = [root for root, _, files in os.walk(tmp) if "bert_config.json" in files]
        if not found:
            raise PresetDownloadError(f"{preset.url} holds no bert_config.json.")
        # Rename into place only when complete, so a crash never leaves half a preset.
        shutil.move(found[0], target)
    return target
