"""Datasets by name: each built-in one a registration, the user's own data ``PREFIX:PATH``.

    datasets.get("fashion_mnist")        # Dataset: input_shape, num_classes, train_images
    datasets.get("npz:my.npz")           # the user's archive, read and validated once
    datasets.train_images("cifar10")     # 45000, without reading a file (None if unknown)
    datasets.names()                     # ("fashion_mnist", "cifar10")

A new dataset is one file that ends with ``register(Dataset(...))`` (see ``cifar10.py``)
plus its import line below; a new kind of user data one that ends with
``register_source(Source(...))`` (see ``npz.py``). Every problem with the data is a
:class:`DataError` whose message is one line. No TensorFlow is imported here: only reading
a ``folder:`` decodes images with it.
"""

from search.datasets._base import (
    MAX_DATA_ENV,
    MAX_FILE_BYTES,
    DataError,
    Dataset,
    Raw,
    Source,
    UnknownDatasetError,
)
from search.datasets._registry import (
    choices,
    get,
    labels,
    names,
    register,
    register_source,
    train_images,
)

# The built-in datasets and sources of user data, each registering itself on import.
from search.datasets import fashion_mnist  # isort: skip
from search.datasets import cifar10  # isort: skip
from search.datasets import npz  # isort: skip
from search.datasets import folder  # isort: skip

__all__ = ["MAX_DATA_ENV", "MAX_FILE_BYTES", "DataError", "Dataset", "Raw", "Source",
           "UnknownDatasetError", "choices", "cifar10", "fashion_mnist", "folder", "get",
           "labels", "names", "npz", "register", "register_source", "train_images"]
