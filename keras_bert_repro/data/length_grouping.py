"""Length-grouped batches for `fit` on in-memory text: a per-epoch plan of example
indices, so short texts are batched together and pad only to their own length."""

import math

import numpy as np
import tensorflow as tf


class LengthGroupedPlan:
    """Index batches, a fresh draw each epoch (each call), from the length bucket of
    every example: each bucket is shuffled and cut into full batches; what is left
    of all buckets (fewer than `batch_size` each) is pooled, in bucket order, and cut
    into batches too, so at most one batch per epoch is short; the batch order is
    shuffled. Every example comes once per epoch; `len(plan)` is the batch count.

    Example:
    >>> plan = LengthGroupedPlan(np.array([0, 0, 1, 1, 1]), batch_size=2, seed=0)
    >>> sorted(np.concatenate(list(plan())).tolist())
    [0, 1, 2, 3, 4]
    """

    def __init__(self, buckets, batch_size, seed=None):
        self.buckets = np.asarray(buckets)
        self.batch_size = int(batch_size)
        # Unseeded: drawn from NumPy's global state, which keras.utils.set_random_seed sets.
        self.rng = np.random.default_rng(np.random.randint(2**31) if seed is None else seed)
        counts = np.bincount(self.buckets)
        self.full = int(sum(c // self.batch_size for c in counts))
        self.short = math.ceil(sum(c % self.batch_size for c in counts) / self.batch_size)

    def __len__(self):
        return self.full + self.short

    def __call__(self):
        batches, rest = [], []
        for bucket in np.unique(self.buckets):
            members = self.rng.permutation(np.flatnonzero(self.buckets == bucket))
            cut = len(members) - len(members) % self.batch_size
            batches += np.split(members[:cut], cut // self.batch_size) if cut else []
            rest.append(members[cut:])
        rest = np.concatenate(rest)
        batches += [rest[i:i + self.batch_size] for i in range(0, len(rest), self.batch_size)]
        for i in self.rng.permutation(len(batches)):
            yield batches[i].astype("int64")


def length_grouped_dataset(parts, buckets, batch_size, seed=None):
    """Batches of `parts` (a nest of tensors, ragged ones too, one row per example)
    drawn by `LengthGroupedPlan`, with a known cardinality."""
    plan = LengthGroupedPlan(buckets, batch_size, seed)
    indices = tf.data.Dataset.from_generator(
        plan, output_signature=tf.TensorSpec([None], tf.int64))
    dataset = indices.map(
        lambda index: tf.nest.map_structure(lambda part: tf.gather(part, index), parts))
    return dataset.apply(tf.data.experimental.assert_cardinality(len(plan)))
