"""The registry of Google's released BERT checkpoints: config and download URL."""

import dataclasses

_GCS = "https://storage.googleapis.com/bert_models"
# Google's 24 smaller English models (Turc et al., 2019), all uncased, A = H / 64.
_SMALL_NAMES = {(2, 128): "tiny", (4, 256): "mini", (4, 512): "small", (8, 512): "medium"}


@dataclasses.dataclass(frozen=True)
class Preset:
    """One released checkpoint: its architecture and where Google publishes it."""

    name: str
    num_layers: int
    hidden_dim: int
    num_heads: int
    vocabulary_size: int
    lowercase: bool
    url: str
    description: str

    @property
    def config(self):
        """BertBackbone arguments. Google's code used the tanh form of GELU."""
        return {
            "vocabulary_size": self.vocabulary_size,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "hidden_dim": self.hidden_dim,
            "intermediate_dim": 4 * self.hidden_dim,
            "max_sequence_length": 512,
            "num_segments": 2,
            "dropout": 0.1,
            "activation": "gelu_approximate",
        }

    @property
    def folder(self):
        """The folder name inside Google's zip, e.g. `uncased_L-12_H-768_A-12`."""
        return self.url.rsplit("/", 1)[-1][: -len(".zip")]


def _build_registry():
    presets = {}

    def add(name, layers, hidden, heads, vocab, lowercase, url, description):
        presets[name] = Preset(name, layers, hidden, heads, vocab, lowercase, url, description)

    for layers in (2, 4, 6, 8, 10, 12):
        for hidden in (128, 256, 512, 768):
            heads = hidden // 64
            size = _SMALL_NAMES.get((layers, hidden))
            name = f"bert_{size}_en_uncased" if size else f"bert_l{layers}_h{hidden}_en_uncased"
            add(name, layers, hidden, heads, 30522, True,
                f"{_GCS}/2020_02_20/uncased_L-{layers}_H-{hidden}_A-{heads}.zip",
                f"Google's compact English model L{layers}/H{hidden}/A{heads}, uncased.")
    for case, vocab in (("uncased", 30522), ("cased", 28996)):
        lower = case == "uncased"
        add(f"bert_base_en_{case}", 12, 768, 12, vocab, lower,
            f"{_GCS}/2018_10_18/{case}_L-12_H-768_A-12.zip",
            f"BERT-Base, English, {case} (110M parameters).")
        add(f"bert_large_en_{case}", 24, 1024, 16, vocab, lower,
            f"{_GCS}/2018_10_18/{case}_L-24_H-1024_A-16.zip",
            f"BERT-Large, English, {case} (340M parameters).")
        add(f"bert_large_en_{case}_wwm", 24, 1024, 16, vocab, lower,
            f"{_GCS}/2019_05_30/wwm_{case}_L-24_H-1024_A-16.zip",
            f"BERT-Large, English, {case}, whole-word masking.")
    add("bert_base_multi_cased", 12, 768, 12, 119547, False,
        f"{_GCS}/2018_11_23/multi_cased_L-12_H-768_A-12.zip",
        "BERT-Base, 104 languages, cased.")
    add("bert_base_zh", 12, 768, 12, 21128, False,
        f"{_GCS}/2018_11_03/chinese_L-12_H-768_A-12.zip",
        "BERT-Base, Chinese (simplified and traditional).")
    return presets


PRESETS = _build_registry()


def list_presets():
    """Names of the registry's presets, sorted."""
    return sorted(PRESETS)


def get_preset(name):
    """Returns the `Preset` called `name`, or raises naming the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(
            f"Unknown preset {name!r}, and no directory of that name exists. Known "
            f"presets: {', '.join(list_presets())}. Or pass a local directory in "
            "Google's, HF's, keras-hub's or this library's preset layout."
        ) from None
