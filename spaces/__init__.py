"""What can be built: architecture families, their specs, costs and search spaces.

One public face: ``ArchSpec`` values are created from plain data with :func:`from_dict`,
turned into Keras models with :func:`build`, and measured with :func:`cost`.
Nothing here knows about Optuna trials beyond the narrow adapters in :mod:`spaces.space`.
"""

from spaces.cost import Cost
from spaces.errors import SpecError
from spaces.registry import FAMILIES, ArchSpec, build, cost, from_dict, from_json

__all__ = ["FAMILIES", "ArchSpec", "Cost", "SpecError", "build", "cost", "from_dict", "from_json"]
