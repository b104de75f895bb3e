"""The seeded epoch batcher shared by the workloads (Task.index_batches)."""

import itertools

import pytest

from codesign.accuracy.workloads import GROUP_WINDOW, Task


def _epoch(n, batch_size, seed, lengths=None):
    per_epoch = max(1, n // batch_size) if n >= batch_size else 1
    return list(itertools.islice(Task.index_batches(n, batch_size, seed, lengths), per_epoch))


@pytest.mark.parametrize("n,batch_size,lengths", [
    (100, 16, None), (100, 16, "random"), (7, 16, None), (7, 16, "random"), (256, 8, "random")])
def test_an_epoch_visits_each_example_at_most_once(n, batch_size, lengths):
    import random

    lens = [random.Random(1).randint(5, 200) for _ in range(n)] if lengths else None
    batches = _epoch(n, batch_size, 0, lens)
    flat = [i for b in batches for i in b]
    assert len(flat) == len(set(flat))
    assert len(flat) == (n // batch_size * batch_size if n >= batch_size else n)
    assert all(len(b) == min(batch_size, n) for b in batches)


def test_same_seed_same_batches_other_seed_other_batches():
    lens = list(range(200, 0, -1))
    a = list(itertools.islice(Task.index_batches(200, 16, 3, lens), 30))
    assert a == list(itertools.islice(Task.index_batches(200, 16, 3, lens), 30))
    assert a != list(itertools.islice(Task.index_batches(200, 16, 4, lens), 30))


def test_length_grouping_cuts_padding_but_keeps_order_random():
    import random

    rng = random.Random(0)
    lens = [rng.randint(10, 160) for _ in range(512)]
    def padded_fraction(batches):
        return sum(max(lens[i] for i in b) * len(b) - sum(lens[i] for i in b)
                   for b in batches) / sum(max(lens[i] for i in b) * len(b) for b in batches)
    plain = _epoch(512, 16, 0)
    grouped = _epoch(512, 16, 0, lens)
    assert padded_fraction(grouped) < padded_fraction(plain) / 3
    # batch order is shuffled: not sorted by length within the epoch's first window
    firsts = [max(lens[i] for i in b) for b in grouped[:GROUP_WINDOW]]
    assert firsts != sorted(firsts) and firsts != sorted(firsts, reverse=True)
    # a second epoch groups differently
    two = list(itertools.islice(Task.index_batches(512, 16, 0, lens), 64))
    assert sorted(map(sorted, two[:32])) != sorted(map(sorted, two[32:]))


def test_no_examples_is_an_input_error_not_an_endless_loop():
    from codesign.errors import InputError

    with pytest.raises(InputError, match="no training example"):
        next(Task.index_batches(0, 16, 0))
