"""The `config.json` of Keras-style presets (keras-hub's and ours):
`{"registered_name": ..., "config": {...}}`."""

import json
import os

CONFIG_FILE = "config.json"


def registered_name(path):
    """The `registered_name` in `path/config.json`, or None without that file."""
    file = os.path.join(path, CONFIG_FILE)
    if not os.path.isfile(file):
        return None
    with open(file, encoding="utf-8") as f:
        return json.load(f).get("registered_name")


def read_keras_config(path):
    """The `config` entry of `path/config.json`: the serialized object's arguments."""
    with open(os.path.join(path, CONFIG_FILE), encoding="utf-8") as f:
        return json.load(f)["config"]
