"""DistributedSampler against a NumPy transcription of PyTorch's partition rule, and
DataLoader(sampler=...). No MPI needed: num_replicas and rank are given."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from tinydl.data import DataLoader
from tinydl.utils.data import DistributedSampler


def torch_rule(indices, num_replicas, rank, drop_last):
    """PyTorch's DistributedSampler.__iter__ after the (optional) permutation, step by step."""
    n = len(indices)
    if drop_last and n % num_replicas != 0:
        num_samples = math.ceil((n - num_replicas) / num_replicas)
    else:
        num_samples = math.ceil(n / num_replicas)
    total_size = num_samples * num_replicas
    indices = list(indices)
    if not drop_last:
        padding_size = total_size - len(indices)
        if padding_size <= len(indices):
            indices += indices[:padding_size]
        else:
            indices += (indices * math.ceil(padding_size / len(indices)))[:padding_size]
    else:
        indices = indices[:total_size]
    return indices[rank:total_size:num_replicas], num_samples


@given(n=st.integers(1, 60), replicas=st.integers(1, 9), drop_last=st.booleans(),
       shuffle=st.booleans(), seed=st.integers(0, 5), epoch=st.integers(0, 3))
def test_partition_matches_pytorchs_rule(n, replicas, drop_last, shuffle, seed, epoch):
    if drop_last and n < replicas:
        return  # PyTorch gives every rank 0 samples here too; covered below
    base = np.random.default_rng(seed + epoch).permutation(n) if shuffle else np.arange(n)
    union = []
    for rank in range(replicas):
        s = DistributedSampler(range(n), num_replicas=replicas, rank=rank, shuffle=shuffle,
                               seed=seed, drop_last=drop_last)
        s.set_epoch(epoch)
        want, num_samples = torch_rule(base.tolist(), replicas, rank, drop_last)
        got = list(s)
        assert got == want
        assert len(s) == num_samples == len(got)
        union += got
    if not drop_last:
        assert sorted(set(union)) == list(range(n))  # every sample is seen
    else:
        assert len(set(union)) == len(union)          # no sample twice


def test_fewer_samples_than_replicas_with_drop_last_gives_nothing():
    s = DistributedSampler(range(3), num_replicas=4, rank=0, drop_last=True)
    assert len(s) == 0 and list(s) == []


def test_padding_repeats_indices_when_the_padding_exceeds_the_dataset():
    # n=2, 5 replicas: total 5, the list [0, 1] is repeated to [0, 1, 0, 1, 0]
    got = [list(DistributedSampler(range(2), num_replicas=5, rank=r, shuffle=False)) for r in range(5)]
    assert got == [[0], [1], [0], [1], [0]]


def test_epochs_reshuffle_identically_on_every_rank():
    a = DistributedSampler(range(20), num_replicas=2, rank=0, seed=3)
    b = DistributedSampler(range(20), num_replicas=2, rank=1, seed=3)
    first = list(a) + list(b)
    a.set_epoch(1), b.set_epoch(1)
    second = list(a) + list(b)
    assert sorted(first) == sorted(second) == list(range(20)) and first != second
    assert list(DistributedSampler(range(20), num_replicas=2, rank=0, seed=3)) == first[:10]


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(RuntimeError, match="init_process_group"):
        DistributedSampler(range(4))


def test_dataloader_takes_a_sampler():
    x = np.arange(10) * 10
    s = DistributedSampler(x, num_replicas=3, rank=2, shuffle=False)
    dl = DataLoader(x, np.arange(10), batch_size=2, sampler=s)
    batches = [(xb.tolist(), yb.tolist()) for xb, yb in dl]
    assert batches == [([20, 50], [2, 5]), ([80, 10], [8, 1])]
    assert len(dl) == 2
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(x, batch_size=2, sampler=s, shuffle=True)


def test_distributed_sampler_feeds_the_pytorch_style_loader():
    import tinydl
    import tinydl.utils.data as tud
    ds = tud.TensorDataset(tinydl.Tensor(np.arange(10)))
    dl = tud.DataLoader(ds, batch_size=2, sampler=DistributedSampler(ds, num_replicas=3, rank=2, shuffle=False))
    assert [b.tolist() for (b,) in dl] == [[2, 5], [8, 1]]
