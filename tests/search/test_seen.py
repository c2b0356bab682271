"""search.seen's record of what a kept model did with the test images: written and read
back whole with NumPy alone, and a truncated or foreign file refused in one line."""

import numpy as np
import pytest

from search import seen as S


def example(i: int) -> S.Example:
    return S.Example(i, np.full((28, 28), i, dtype=np.uint8), i % 10, (i + 1) % 10, 0.5 + i / 100)


def record(blocks: int = 2, filters: bool = True) -> S.Seen:
    rng = np.random.default_rng(0)
    return S.Seen(
        accuracy=0.9125, wrong=875, total=10_000,
        confusion=np.array([[900, 100], [60, 940]]),
        mistakes=tuple(example(i) for i in range(5)), shown=tuple(example(i) for i in range(3)),
        blocks=tuple(S.BlockMaps(f"block{b + 1}_pool", (14 // (b + 1), 14 // (b + 1), 8),
                                 (3, 1, 0, 7), rng.random((3, 4, 14 // (b + 1), 14 // (b + 1)),
                                                          dtype=np.float32))
                     for b in range(blocks)),
        filters=rng.random((7, 7, 1, 8), dtype=np.float32) if filters else None,
        filter_layer="block1_conv1" if filters else None)


def assert_same(got: S.Seen, want: S.Seen) -> None:
    assert (got.accuracy, got.wrong, got.total) == (want.accuracy, want.wrong, want.total)
    assert np.array_equal(got.confusion, want.confusion)
    for mine, theirs in ((got.mistakes, want.mistakes), (got.shown, want.shown)):
        assert [(e.index, e.true, e.predicted, e.probability) for e in mine] == [
            (e.index, e.true, e.predicted, e.probability) for e in theirs]
        assert all(np.array_equal(a.image, b.image) for a, b in zip(mine, theirs, strict=True))
    assert [(b.layer, b.shape, b.channels) for b in got.blocks] == [
        (b.layer, b.shape, b.channels) for b in want.blocks]
    assert all(np.array_equal(a.maps, b.maps) for a, b in zip(got.blocks, want.blocks,
                                                               strict=True))
    assert got.filter_layer == want.filter_layer
    assert (got.filters is None) == (want.filters is None)
    if want.filters is not None:
        assert np.array_equal(got.filters, want.filters)


@pytest.mark.parametrize(("blocks", "filters"), [(2, True), (0, False)])  # a CNN, a dense net
def test_a_record_reads_back_as_it_was_written(tmp_path, blocks, filters):
    want = record(blocks, filters)
    S.save(want, tmp_path / "seen.npz")
    assert_same(S.read(tmp_path / "seen.npz"), want)


def test_a_truncated_or_foreign_file_is_a_value_error(tmp_path):
    path = tmp_path / "seen.npz"
    S.save(record(), path)
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(ValueError, match=r"not a whole seen\.npz"):
        S.read(path)
    np.savez(path, something=np.arange(3))
    with pytest.raises(ValueError, match=r"not a whole seen\.npz"):
        S.read(path)
    path.write_text("hello")
    with pytest.raises(ValueError, match=r"not a whole seen\.npz"):
        S.read(path)


def test_the_most_frequent_mistake_is_off_the_diagonal():
    assert record().most_confused() == (0, 1, 100)  # class 0 taken for class 1, 100 times
