"""Every dataset test runs offline, without the user's SEARCH_DATA_DIR."""

from tests.search.datasets.make import offline  # noqa: F401  (an autouse fixture)
