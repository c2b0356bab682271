"""Names: the registered datasets, the user's ``PREFIX:PATH``, and what neither is."""

from __future__ import annotations

import pytest

from search import datasets
from search.datasets import UnknownDatasetError


def test_the_built_in_declarations_need_no_file() -> None:
    assert datasets.names() == ("fashion_mnist", "cifar10")
    fm, cifar = datasets.get("fashion_mnist"), datasets.get("cifar10")
    assert (fm.input_shape, fm.num_classes, fm.train_images) == ((28, 28, 1), 10, 50_000)
    assert (cifar.input_shape, cifar.num_classes, cifar.train_images) == ((32, 32, 3), 10, 45_000)
    assert datasets.train_images("cifar10") == 45_000
    assert datasets.choices() == "fashion_mnist, cifar10, npz:PATH, folder:PATH"


@pytest.mark.parametrize(("name", "message"), [
    ("mnist", "unknown dataset 'mnist': choose one of fashion_mnist, cifar10, npz:PATH, "
              "folder:PATH"),
    ("csv:data.csv", "unknown dataset 'csv:data.csv'"),
    ("npz:", "dataset 'npz:' names no path: write npz:PATH"),
])
def test_names_that_are_no_dataset(name: str, message: str) -> None:
    with pytest.raises(UnknownDatasetError, match=message):
        datasets.get(name)
    assert datasets.train_images(name) is None
