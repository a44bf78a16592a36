"""tinydl.utils.data against PyTorch 2.13's recorded rules (tests/golden/torch_data.json), and its
worker processes."""
import collections
import json
import os

import numpy as np
import pytest

import tinydl
from tinydl import Tensor
from tinydl.utils.data import (BatchSampler, ChainDataset, ConcatDataset, DataLoader, Dataset, IterableDataset,
                               RandomSampler, SequentialSampler, Subset, SubsetRandomSampler, TensorDataset,
                               default_collate, default_convert, get_worker_info, random_split)

with open(os.path.join(os.path.dirname(__file__), "golden", "torch_data.json")) as _f:
    REC = json.load(_f)


def test_recorded_with_pytorch_2_13():
    assert REC["__version__"].startswith("2.13")


def _tensor_ds():
    return TensorDataset(Tensor(np.arange(10.0).reshape(5, 2)), Tensor(np.arange(5)))


# ---- datasets -------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", sorted(REC["random_split_sizes"]))
def test_random_split_sizes_match_pytorch(key):
    n, lengths = key.split(":")
    parts = random_split(range(int(n)), json.loads(lengths), generator=np.random.default_rng(0))
    assert [len(p) for p in parts] == REC["random_split_sizes"][key]
    members = sorted(i for p in parts for i in p)
    assert members == list(range(int(n)))  # disjoint, and together the whole dataset


def test_random_split_is_reproducible_with_a_seeded_generator_and_checks_lengths():
    a = [list(p) for p in random_split(range(20), [5, 15], generator=np.random.default_rng(3))]
    b = [list(p) for p in random_split(range(20), [5, 15], generator=np.random.default_rng(3))]
    c = [list(p) for p in random_split(range(20), [5, 15], generator=np.random.default_rng(4))]
    assert a == b and a != c
    tinydl.manual_seed(1)
    d = list(random_split(range(20), [5, 15])[0])
    tinydl.manual_seed(1)
    assert list(random_split(range(20), [5, 15])[0]) == d  # no generator: tinydl's shared one
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(range(5), [2, 2])
    with pytest.raises(TypeError, match="generator must be"):
        random_split(range(5), [2, 3], generator=42)


def test_tensor_dataset_subset_concat_chain():
    ds = _tensor_ds()
    x, y = ds[3]
    assert x.tolist() == [6.0, 7.0] and y.item() == 3 and len(ds) == 5
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(Tensor(np.zeros(3)), Tensor(np.zeros(4)))
    sub = Subset(ds, [4, 0])
    assert len(sub) == 2 and sub[0][1].item() == 4
    cat = ConcatDataset([sub, ds])
    assert len(cat) == 7 and cat[2][1].item() == 0 and cat[-1][1].item() == 4
    assert (sub + ds).cumulative_sizes == [2, 7]

    class Stream(IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

    assert list(ChainDataset([Stream(2), Stream(3)])) == [0, 1, 0, 1, 2]
    assert list(Stream(2) + Stream(1)) == [0, 1, 0]


# ---- samplers ----------------------------------------------------------------------------------------

def test_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    rs = RandomSampler(range(6), generator=np.random.default_rng(0))
    e1, e2 = list(rs), list(rs)
    assert sorted(e1) == sorted(e2) == list(range(6)) and e1 != e2  # a fresh order every epoch
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=50, generator=np.random.default_rng(0)))
    assert len(drawn) == 50 and set(drawn) <= {0, 1, 2}
    more = list(RandomSampler(range(3), num_samples=7, generator=np.random.default_rng(0)))
    assert len(more) == 7 and sorted(more[:6]) == [0, 0, 1, 1, 2, 2]
    assert sorted(SubsetRandomSampler([5, 7, 9])) == [5, 7, 9]
    assert list(BatchSampler(range(7), 3, drop_last=True)) == [[0, 1, 2], [3, 4, 5]]
    assert len(BatchSampler(range(7), 3, drop_last=False)) == 3
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler(range(3), num_samples=0)


# ---- collate -----------------------------------------------------------------------------------------

def test_default_collate_matches_pytorch():
    rec = REC["default_collate"]
    batch = [(np.array([1.0, 2.0], np.float32), 3, 2.5, True, "a", {"k": np.int16(4)}),
             (np.array([3.0, 4.0], np.float32), 5, 3.5, False, "b", {"k": np.int16(6)})]
    out = default_collate(batch)
    assert isinstance(out, list)  # a tuple sample gives a list, as in PyTorch
    assert [type(o).__name__ for o in out] == rec["types"]
    assert [str(o.dtype) if isinstance(o, Tensor) else None for o in out] == rec["dtypes"]
    assert [o.tolist() if isinstance(o, Tensor) else list(o) for o in out[:5]] == rec["values"]
    assert [out[5]["k"].tolist(), str(out[5]["k"].dtype)] == rec["dict"]["k"]


def test_default_collate_stacks_tensors_and_keeps_container_types():
    Point = collections.namedtuple("Point", "x y")
    out = default_collate([Point(Tensor(np.ones(2)), 1), Point(Tensor(np.zeros(2)), 2)])
    assert isinstance(out, Point) and out.x.shape == (2, 2) and out.y.tolist() == [1, 2]
    od = default_collate([collections.OrderedDict(a=1.0), collections.OrderedDict(a=2.0)])
    assert isinstance(od, collections.OrderedDict) and od["a"].dtype == np.float64
    assert default_collate([[1, 2], [3, 4]])[0].tolist() == [1, 3]
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="found <class 'NoneType'>"):
        default_collate([None, None])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        default_collate([Tensor(np.ones(2)), Tensor(np.ones(3))])
    conv = default_convert((np.arange(3), "s"))
    assert isinstance(conv, list) and isinstance(conv[0], Tensor) and conv[1] == "s"


# ---- the loader, in the main process --------------------------------------------------------------------

def test_loader_batches_match_pytorch():
    rec = REC["loader"]
    got = [[x.tolist(), y.tolist()] for x, y in DataLoader(_tensor_ds(), batch_size=2)]
    assert got == rec["batches"]
    assert len(DataLoader(_tensor_ds(), batch_size=2)) == rec["len"]
    assert len(DataLoader(_tensor_ds(), batch_size=2, drop_last=True)) == rec["len_drop"]
    unbatched = [[x.tolist(), y.tolist()] for x, y in DataLoader(_tensor_ds(), batch_size=None)][:2]
    assert unbatched == rec["unbatched"]
    assert len(DataLoader(_tensor_ds())) == 5  # batch_size defaults to 1


def test_loader_shuffle_sampler_batch_sampler_and_collate_fn():
    ds = _tensor_ds()
    dl = DataLoader(ds, batch_size=2, shuffle=True, generator=np.random.default_rng(0))
    e1 = [y.tolist() for _, y in dl]
    e2 = [y.tolist() for _, y in dl]
    assert sorted(sum(e1, [])) == list(range(5)) and e1 != e2
    again = [y.tolist() for _, y in DataLoader(ds, batch_size=2, shuffle=True, generator=np.random.default_rng(0))]
    assert again == e1
    assert [y.tolist() for _, y in DataLoader(ds, sampler=[4, 2], batch_size=2)] == [[4, 2]]
    assert [y.tolist() for _, y in DataLoader(ds, batch_sampler=[[1], [3, 0]])] == [[1], [3, 0]]
    out = list(DataLoader(ds, batch_size=3, collate_fn=lambda items: len(items)))
    assert out == [3, 2]


class _RowByRow(TensorDataset):
    """The same samples through a subclass: the loader takes the general per-sample path."""

    def __getitem__(self, index):
        return super().__getitem__(index)


def test_tensor_dataset_batches_are_what_per_sample_collation_gives():
    rng = np.random.default_rng(3)
    x = Tensor(rng.random((7, 2, 3), dtype=np.float32), requires_grad=True)
    y = Tensor(rng.integers(0, 5, 7))
    sampler = [[6, 0, 3], [-1, 2], [4]]   # negative indices mean what they mean for a Tensor
    fast = list(DataLoader(TensorDataset(x, y), batch_sampler=sampler))
    slow = list(DataLoader(_RowByRow(x, y), batch_sampler=sampler))
    for f, s in zip(fast, slow):
        assert type(f) is list and len(f) == 2
        for a, b in zip(f, s):
            assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    sum(b[0].sum() for b in fast).backward()    # the gradient reaches the dataset's tensor
    times_drawn = np.array([1, 0, 1, 1, 1, 0, 2], np.float32)[:, None, None]
    np.testing.assert_array_equal(x.grad.numpy(), np.broadcast_to(times_drawn, (7, 2, 3)))
    with pytest.raises(IndexError):
        list(DataLoader(TensorDataset(x, y), batch_sampler=[[7]]))


def test_loader_argument_errors_are_pytorchs():
    ds = _tensor_ds()
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, sampler=[0], shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_sampler=[[0]], batch_size=2)
    with pytest.raises(ValueError, match="mutually exclusive with drop_last"):
        DataLoader(ds, batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError, match="prefetch_factor option could only be specified"):
        DataLoader(ds, prefetch_factor=2)
    with pytest.raises(ValueError, match="persistent_workers option needs num_workers > 0"):
        DataLoader(ds, persistent_workers=True)
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(_Stream(4), shuffle=True)
    dl = DataLoader(ds, batch_size=2, pin_memory=True)
    with pytest.raises(ValueError, match="batch_size attribute should not be set"):
        dl.batch_size = 3


class _Stream(IterableDataset):
    """0..n-1, split between workers by worker id (PyTorch's documented pattern)."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))

    def __len__(self):
        return self.n


def test_iterable_dataset_in_the_main_process():
    assert [b.tolist() for b in DataLoader(_Stream(7), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [b.tolist() for b in DataLoader(_Stream(7), batch_size=3, drop_last=True)] == [[0, 1, 2], [3, 4, 5]]
    assert len(DataLoader(_Stream(7), batch_size=3)) == 3
    assert list(DataLoader(_Stream(2), batch_size=None)) == [0, 1]  # default_convert leaves ints alone


# ---- worker processes ---------------------------------------------------------------------------------

class _Squares(Dataset):
    def __init__(self, n, fail_at=None, die_at=None):
        self.n, self.fail_at, self.die_at = n, fail_at, die_at

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.fail_at:
            raise KeyError(f"sample {i} is missing")
        if i == self.die_at:
            os._exit(3)
        info = get_worker_info()
        return np.array([i * i], np.float32), (-1 if info is None else info.id), os.getpid()


def test_workers_give_the_same_batches_in_order_from_other_processes():
    ds = _Squares(13)
    single = [x.tolist() for x, _, _ in DataLoader(ds, batch_size=3)]
    batches = list(DataLoader(ds, batch_size=3, num_workers=2))
    assert [x.tolist() for x, _, _ in batches] == single
    assert [w.tolist()[0] for _, w, _ in batches] == [0, 1, 0, 1, 0]  # round-robin over the workers
    pids = {int(p[0]) for _, _, p in batches}
    assert len(pids) == 2 and os.getpid() not in pids
    assert get_worker_info() is None  # the main process


def test_a_worker_error_is_raised_in_the_main_process_naming_the_worker():
    dl = DataLoader(_Squares(8, fail_at=5), batch_size=2, num_workers=2)
    with pytest.raises(KeyError) as info:
        list(dl)
    text = str(info.value)
    assert "Caught KeyError in DataLoader worker process 0" in text
    assert "sample 5 is missing" in text and "Traceback" in text


def test_a_dead_worker_is_reported():
    dl = DataLoader(_Squares(6, die_at=3), batch_size=2, num_workers=2)
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited unexpectedly"):
        list(dl)


def test_iterable_dataset_with_workers_and_worker_init_fn_and_seeds():
    seen = [b.tolist() for b in DataLoader(_Stream(10), batch_size=3, num_workers=3)]
    assert seen == [[0, 3, 6], [1, 4, 7], [2, 5, 8], [9]]  # PyTorch's interleaving

    class Seeds(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            info = get_worker_info()
            return np.array([info.seed, float(os.environ.get("TINYDL_TEST_INIT", "0"))])

    def init(worker_id):
        os.environ["TINYDL_TEST_INIT"] = str(worker_id + 10)

    out = [b.tolist()[0] for b in DataLoader(Seeds(), batch_size=1, num_workers=2, worker_init_fn=init,
                                             generator=np.random.default_rng(5))]
    seeds = [s for s, _ in out]
    assert seeds[1] == seeds[0] + 1 and seeds[2] == seeds[0]  # base_seed + worker id
    assert [v for _, v in out] == [10.0, 11.0, 10.0, 11.0]


def test_persistent_workers_serve_several_epochs():
    dl = DataLoader(_Squares(9), batch_size=4, shuffle=True, num_workers=2, persistent_workers=True,
                    generator=np.random.default_rng(0))
    pids = set()
    for _ in range(3):
        values = []
        for x, _, p in dl:
            values += x.detach().numpy().ravel().tolist()
            pids |= set(p.tolist())
        assert sorted(values) == [float(i * i) for i in range(9)]
    assert len(pids) == 2  # the same two processes every epoch
    next(iter(dl))  # an epoch abandoned after one batch ...
    assert len(list(dl)) == 3  # ... does not disturb the next


def test_unimplemented_pytorch_names_raise_not_implemented():
    import tinydl.utils.data as tud
    with pytest.raises(NotImplementedError, match="WeightedRandomSampler is not implemented"):
        tud.WeightedRandomSampler
    with pytest.raises(AttributeError):
        tud.NoSuchThing


class _Slow(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        import time
        time.sleep(30)
        return i


def test_timeout_raises_and_stops_the_workers():
    import time
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.5 seconds"):
        next(iter(DataLoader(_Slow(), num_workers=1, timeout=0.5)))
    # the worker sleeps 30 s: ending well before that shows the timeout fired and the worker was
    # stopped, with room for a worker process's slow start on a loaded 2-core machine
    assert time.monotonic() - start < 25
