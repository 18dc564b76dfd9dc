"""One error for a preset file that cannot be read or contradicts its config.

Whatever the library underneath raises (json, h5py, safetensors, TensorFlow's
checkpoint reader, Keras' `load_weights`), the user gets one `CorruptPreset`
naming the file and the problem in a line, never a shape error deep in Keras.

Example:
>>> with reading("/models/bert/config.json", "a JSON config"):  # doctest: +SKIP
...     json.load(open("/models/bert/config.json"))
CorruptPreset: /models/bert/config.json cannot be read as a JSON config: ...
"""

import contextlib
import os


class CorruptPreset(ValueError):
    """A preset file that is truncated, empty, of the wrong kind, or whose contents
    disagree with the preset's config."""


@contextlib.contextmanager
def reading(file, what):
    """Turns any error of reading `file` (described as `what`, e.g. "safetensors
    weights") into one `CorruptPreset` naming it; errors that name the file
    already (or a missing file) pass as they are."""
    try:
        yield
    except (FileNotFoundError, CorruptPreset, MemoryError, ImportError):
        raise
    except Exception as e:  # noqa: BLE001 - every reader's own error, named once
        message = str(e).strip()
        if isinstance(e, ValueError) and os.path.basename(os.fspath(file)) in message \
                and "\n" not in message:
            raise
        raise CorruptPreset(f"{file} cannot be read as {what}: {_gist(e, message)}") from None


def _gist(error, message):
    """The first line of a library's message, and its last where the cause sits there
    (Keras: "3 objects could not be loaded. Example error message ...:" then the cause)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    if len(lines) > 1 and "Example error message" in lines[0]:  # Keras' load_weights
        return lines[0].split(". Example")[0] + ": " + lines[1].split(" Target variable")[0]
    gist = lines[0][:300]
    if len(lines) > 1:
        gist += " ... " + lines[-1][:300]
    return gist
