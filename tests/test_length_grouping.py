"""LengthGroupedPlan: the per-epoch batch plan behind fit's length-grouped batches."""

import numpy as np
import pytest

from keras_bert_repro.data.length_grouping import LengthGroupedPlan, length_grouped_dataset

pytestmark = pytest.mark.backend_independent


def test_plan_batches_each_bucket_and_pools_the_rest():
    buckets = np.repeat([0, 1, 2, 3], [70, 33, 5, 1])  # leaves 6 + 1 + 5 + 1 = 13
    plan = LengthGroupedPlan(buckets, batch_size=32, seed=0)
    assert len(plan) == 2 + 1 + 1  # two full of bucket 0, one of bucket 1, one pooled
    epochs = [list(plan()) for _ in range(2)]
    for batches in epochs:
        assert len(batches) == len(plan)
        assert sorted(np.concatenate(batches).tolist()) == list(range(len(buckets)))
        full = [b for b in batches if len(b) == 32]
        assert len(full) == 3 and all(len(set(buckets[b])) == 1 for b in full)
        (short,) = [b for b in batches if len(b) < 32]
        assert len(short) == 13 and sorted(set(buckets[short])) == [0, 1, 2, 3]
    assert [b.tolist() for b in epochs[0]] != [b.tolist() for b in epochs[1]]
    again = LengthGroupedPlan(buckets, batch_size=32, seed=0)
    assert [b.tolist() for b in again()] == [b.tolist() for b in epochs[0]]


def test_pooled_rest_splits_into_full_batches_first():
    buckets = np.repeat([0, 1, 2], [3, 3, 3])
    plan = LengthGroupedPlan(buckets, batch_size=4, seed=1)
    assert len(plan) == 3
    assert sorted(len(b) for b in plan()) == [1, 4, 4]


def test_dataset_gathers_rows_of_every_part():
    texts = np.array([f"text {i}" for i in range(10)])
    dataset = length_grouped_dataset(((texts,), np.arange(10)), np.arange(10) % 2, 4, seed=0)
    assert int(dataset.cardinality()) == 3
    for (batch_texts,), index in dataset:
        assert [t.decode() for t in batch_texts.numpy()] == [f"text {i}" for i in index.numpy()]
