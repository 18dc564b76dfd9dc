"""BertBackbone: the encoder of the paper as a Keras functional model."""

import keras

from keras_bert_repro import presets
from keras_bert_repro.layers import PositionEmbedding, TransformerEncoderBlock, bert_initializer
from keras_bert_repro.layers.dense import Dense
from keras_bert_repro.layers.dropout import Dropout
from keras_bert_repro.layers.encoder_block import LAYER_NORM_EPSILON
from keras_bert_repro.models import dtype_maps, lora
from keras_bert_repro.models.checkpoint_export import check_format, save_foreign
from keras_bert_repro.models.input_checks import check_backbone_inputs
from keras_bert_repro.models.weight_assignment import assign_backbone_weights

INPUT_NAMES = ("token_ids", "segment_ids", "padding_mask")
# Arguments a caller may change at `from_preset` without changing any weight's shape.
OVERRIDABLE = ("dropout", "attention_dropout", "dtype", "name", "trainable", "activation")
# Config entries a preset does not keep: they belong to the run, not the checkpoint.
NOT_IN_PRESET = ("name", "trainable", "dtype")


EMBEDDING_LAYERS = ("token_embedding", "segment_embedding", "position_embedding",
                    "embeddings_layer_norm", "embeddings_dropout")


def _embed(inputs, token_embedding, segment_embedding, position_embedding, layer_norm, dropout):
    """Token + segment + position embeddings, LayerNorm, dropout."""
    tokens = token_embedding(inputs["token_ids"])
    x = tokens + segment_embedding(inputs["segment_ids"]) + position_embedding(tokens)
    return dropout(layer_norm(x))


@keras.saving.register_keras_serializable(package="keras_bert_repro")
class BertBackbone(keras.Model):
    """BERT encoder: embeddings -> `num_layers` post-LN Transformer blocks -> pooler.

    Inputs are a dict of int tensors `[batch, seq]`: `token_ids`, `segment_ids`
    (0 for segment A, 1 for B) and `padding_mask` (1 for real tokens). Outputs are
    a dict: `sequence_output` `[batch, seq, hidden]` and `pooled_output`
    `[batch, hidden]`, the tanh dense layer over the `[CLS]` position.

    Args:
        vocabulary_size: rows of the token embedding.
        num_layers: Transformer blocks (L).
        num_heads: attention heads per block (A).
        hidden_dim: hidden size (H).
        intermediate_dim: feed-forward width (4H in the paper).
        max_sequence_length: rows of the learned position table.
        num_segments: rows of the segment embedding (2: A and B).
        dropout: dropout everywhere (0.1 in the paper).
        attention_dropout: dropout on the attention probabilities (default:
            `dropout`). `0.0` lets training run the fused attention kernel
            (flash attention on GPU/TPU) and skips a [batch, heads, seq, seq] mask.
        activation: `"gelu"` (exact) or `"gelu_approximate"` (tanh form of
            Google's original code). Loaders set the one their checkpoint used.
        causal: each position attends only to itself and earlier ones (the
            paper's left-to-right ablation). Settable later: `bb.causal = True`.
        dtype: dtype or `keras.DTypePolicy`, e.g. `"mixed_bfloat16"`.

    Example:
    >>> bb = BertBackbone(vocabulary_size=1000, num_layers=2, num_heads=2,
    ...                   hidden_dim=64, intermediate_dim=256)
    >>> ids = np.array([[101, 7592, 102, 0]])
    >>> out = bb({"token_ids": ids, "segment_ids": np.zeros_like(ids),
    ...           "padding_mask": (ids > 0).astype("int32")})
    >>> out["pooled_output"].shape
    (1, 64)
    >>> bb = BertBackbone.from_preset("/path/to/uncased_L-12_H-768_A-12")  # doctest: +SKIP
    """

    def __init__(self, vocabulary_size, num_layers, num_heads, hidden_dim, intermediate_dim,
                 max_sequence_length=512, num_segments=2, dropout=0.1, activation="gelu",
                 causal=False, attention_dropout=None, dtype=None, **kwargs):
        # === Layers ===
        init = bert_initializer()
        token_embedding = keras.layers.Embedding(
            vocabulary_size, hidden_dim, embeddings_initializer=init, dtype=dtype,
            name="token_embedding")
        segment_embedding = keras.layers.Embedding(
            num_segments, hidden_dim, embeddings_initializer=init, dtype=dtype,
            name="segment_embedding")
        position_embedding = PositionEmbedding(
            max_sequence_length, initializer=init, dtype=dtype, name="position_embedding")
        embeddings_layer_norm = keras.layers.LayerNormalization(
            epsilon=LAYER_NORM_EPSILON, dtype=dtype, name="embeddings_layer_norm")
        embeddings_dropout = Dropout(dropout, dtype=dtype, name="embeddings_dropout")
        blocks = [
            TransformerEncoderBlock(
                num_heads, intermediate_dim, dropout=dropout,
                attention_dropout=attention_dropout, activation=activation,
                kernel_initializer=init, causal=causal, dtype=dtype,
                name=f"transformer_layer_{i}")
            for i in range(num_layers)
        ]
        pooled_dense = Dense(
            hidden_dim, activation="tanh", kernel_initializer=init, dtype=dtype,
            name="pooled_dense")

        # === Functional model ===
        inputs = {name: keras.Input(shape=(None,), dtype="int32", name=name)
                  for name in INPUT_NAMES}
        x = _embed(inputs, token_embedding, segment_embedding, position_embedding,
                   embeddings_layer_norm, embeddings_dropout)
        hidden_states = [x]
        for block in blocks:
            x = block(x, padding_mask=inputs["padding_mask"])
            hidden_states.append(x)
        pooled = pooled_dense(x[:, 0, :])
        super().__init__(
            inputs=inputs,
            outputs={"sequence_output": x, "pooled_output": pooled},
            dtype=dtype,
            **kwargs,
        )
        if dtype is not None:  # the model carries its policy, as every layer does
            self.dtype_policy = dtype

        # === Config ===
        self.vocabulary_size = int(vocabulary_size)
        self.num_layers = int(num_layers)
        self.num_heads = int(num_heads)
        self.hidden_dim = int(hidden_dim)
        self.intermediate_dim = int(intermediate_dim)
        self.max_sequence_length = int(max_sequence_length)
        self.num_segments = int(num_segments)
        self.dropout = float(dropout)
        self.attention_dropout = float(dropout if attention_dropout is None else attention_dropout)
        self.activation = activation
        self._causal = bool(causal)
        self._hidden_states = hidden_states

    def __call__(self, inputs, *args, **kwargs):
        check_backbone_inputs(inputs, self.vocabulary_size, self.num_segments,
                              self.max_sequence_length)
        return super().__call__(inputs, *args, **kwargs)

    def quantize(self, mode, **kwargs):
        """Keras' `quantize` ("int8", "float8", ...) on every kernel and embedding
        lookup; the config then names the quantized layers (see `dtype_maps`)."""
        with dtype_maps.quiet_quantize():
            super().quantize(mode, **kwargs)

    def enable_lora(self, rank, target_layer_names=None):
        """LoRA: freezes every layer and trains rank-`rank` updates of the dense
        layers named in `target_layer_names` (default the query and value
        projections), as keras-hub's `enable_lora`. Task heads stay trainable.

        Example:
        >>> clf.backbone.enable_lora(8)  # doctest: +SKIP
        """
        lora.enable_lora(self, rank, target_layer_names)

    def save_lora_weights(self, filepath):
        """The LoRA updates alone, to `<name>.lora.h5`."""
        lora.save_lora_weights(self, filepath)

    def load_lora_weights(self, filepath):
        """Loads `save_lora_weights`' file (enabling LoRA at its rank if needed)."""
        lora.load_lora_weights(self, filepath)

    @property
    def token_embedding(self):
        """The token embedding layer (keras-hub's name; the MLM decoder is tied to it)."""
        return self.get_layer("token_embedding")

    @property
    def causal(self):
        """Whether attention is left-to-right (each position sees itself and earlier ones)."""
        return self._causal

    @causal.setter
    def causal(self, value):
        # The blocks read the flag at call time, so switching needs no rebuild.
        self._causal = bool(value)
        for i in range(self.num_layers):
            self.get_layer(f"transformer_layer_{i}").causal = self._causal

    def pool(self, inputs):
        """The pooled `[CLS]` output alone, with the last block run for `[CLS]` only.

        Equal to `self(inputs)["pooled_output"]`, but the last block skips the
        query, feed-forward and output work of every other position (about a
        seventh of MiniLM-L6's matmuls). Sentence(-pair) classification and
        multiple choice build on it; works on symbolic and concrete inputs.

        Example:
        >>> pooled = bb.pool(bb.input)  # in a functional task model  # doctest: +SKIP
        """
        check_backbone_inputs(inputs, self.vocabulary_size, self.num_segments,
                              self.max_sequence_length)
        x = _embed(inputs, *(self.get_layer(name) for name in EMBEDDING_LAYERS))
        for i in range(self.num_layers):
            x = self.get_layer(f"transformer_layer_{i}")(
                x, padding_mask=inputs["padding_mask"],
                first_token_only=i == self.num_layers - 1)
        return self.get_layer("pooled_dense")(x[:, 0, :])

    def feature_extractor(self, layers=(-4, -3, -2, -1), combine="concat"):
        """A model that returns hidden states, for the paper's feature-based use (5.3).

        Args:
            layers: indices into the `num_layers + 1` hidden states (0 is the
                embedding output, -1 the last block, as HF's `hidden_states`).
            combine: `"concat"` (on the feature axis), `"sum"`, or `None` for a list.

        Example:
        >>> feats = bb.feature_extractor()  # last four layers concatenated  # doctest: +SKIP
        >>> feats(inputs).shape  # [batch, seq, 4 * hidden]  # doctest: +SKIP
        """
        states = [self._hidden_states[i] for i in layers]
        if combine == "concat":
            out = keras.layers.Concatenate(axis=-1)(states) if len(states) > 1 else states[0]
        elif combine == "sum":
            out = keras.layers.Add()(states) if len(states) > 1 else states[0]
        elif combine is None:
            out = states
        else:
            raise ValueError(f"combine must be 'concat', 'sum' or None, got {combine!r}.")
        return keras.Model(self.input, out, name=f"{self.name}_features")

    def get_config(self):
        return {
            "vocabulary_size": self.vocabulary_size,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "hidden_dim": self.hidden_dim,
            "intermediate_dim": self.intermediate_dim,
            "max_sequence_length": self.max_sequence_length,
            "num_segments": self.num_segments,
            "dropout": self.dropout,
            "attention_dropout": self.attention_dropout,
            "activation": self.activation,
            "causal": self.causal,
            "name": self.name,
            "trainable": self.trainable,
            # Quantized layers are named in a policy map, so a rebuilt model has them.
            "dtype": keras.dtype_policies.serialize(
                dtype_maps.policy_with_quantized(self.dtype_policy, self._flatten_layers())),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**{**config, "dtype": dtype_maps.deserialize(config.get("dtype"))})

    @classmethod
    def from_preset(cls, preset, **kwargs):
        """Builds the backbone and loads its weights from a preset.

        `preset` is a registry name (see `kbr.list_presets()`), or a directory in
        Google's original layout (`bert_config.json` + `bert_model.ckpt.*`), an
        HF directory (`config.json` + `model.safetensors`), a keras-hub BERT
        preset, or a directory written by `save_to_preset`. `kwargs` override
        config entries that do not change weight shapes (e.g. `dropout`, `dtype`).
        """
        unknown = sorted(set(kwargs) - set(OVERRIDABLE))
        if unknown:
            raise ValueError(f"from_preset cannot override {unknown}: they change weight "
                             f"shapes. Allowed: {OVERRIDABLE}.")
        path = presets.resolve_preset(preset)
        fmt = presets.detect_format(path)
        config = presets.read_backbone_config(path, fmt)
        if "dtype" in config:  # a quantized preset: its map, over the dtype asked for
            kwargs["dtype"] = dtype_maps.rebased(dtype_maps.deserialize(config.pop("dtype")),
                                                 kwargs.get("dtype"))
        backbone = cls(**{**config, **kwargs})
        assign_backbone_weights(backbone, presets.read_backbone_weights(path, fmt))
        return backbone

    def save_to_preset(self, preset_dir, vocabulary=None, format="own", lowercase=None,
                       overwrite=False, allow_gelu_change=False):
        """Writes the backbone as a preset that `from_preset` (and, per `format`,
        another library) loads.

        Args:
            preset_dir: the directory to write.
            vocabulary: a list of tokens or a `vocab.txt` path; required for
                every format but `"own"`, where it is optional.
            format: `"own"` (this library: `config.json`, `model.weights.h5`,
                `vocab.txt`), `"hf"` (transformers' `BertModel`: safetensors,
                `config.json`, tokenizer files), `"keras_hub"` (keras-hub's
                `BertBackbone` preset) or `"google"` (Google's TF1
                `bert_model.ckpt` + `bert_config.json`).
            lowercase: the tokenizer's casing (default: what the vocabulary says).
            overwrite: replace a non-empty `preset_dir` (foreign formats refuse
                one otherwise; `"own"` writes into it, as the recipes' resumes need).
            allow_gelu_change: write an exact-GELU model to keras-hub or Google,
                whose code computes the tanh form (outputs move by about 1e-3).

        A layout that cannot hold the model (e.g. a causal model) raises
        `presets.UnsupportedCheckpoint` before anything is written, and a foreign
        checkpoint appears under `preset_dir` only once complete.

        Example:
        >>> bb.save_to_preset("/tmp/bert_hf", vocabulary="vocab.txt", format="hf")  # doctest: +SKIP
        >>> transformers.BertModel.from_pretrained("/tmp/bert_hf")  # doctest: +SKIP
        """
        if check_format(format, self) != "own":
            save_foreign(self, preset_dir, format, vocabulary, lowercase, overwrite,
                         allow_gelu_change)
            return
        # Staged and moved in as one change: a kill leaves the old preset or the new.
        with presets.updating(preset_dir) as staging:
            self._write_own_preset(staging, vocabulary)

    def _write_own_preset(self, folder, vocabulary=None):
        """This library's preset files (config, weights, vocabulary if given) into
        `folder`, as they are: the caller stages and moves them (`presets.updating`)."""
        config = {k: v for k, v in self.get_config().items() if k not in NOT_IN_PRESET}
        quantized = dtype_maps.policy_with_quantized("float32", self._flatten_layers())
        if dtype_maps.quantized_entries(quantized):  # the int8 / float8 layers, by path
            config["dtype"] = keras.dtype_policies.serialize(quantized)
        self.save_weights(presets.own_weights_file(folder))
        presets.write_own_config(folder, config)
        if vocabulary is not None:
            presets.write_vocabulary(folder, vocabulary)
