"""What can be built: architecture families, their specs, costs and search spaces.

One public face: ``ArchSpec`` values are created from plain data with :func:`from_dict`,
turned into Keras models with :func:`build`, and measured with :func:`cost`. A family is
one file ending with ``register(Family(...))`` plus its import line in
:mod:`spaces.registry`; readers outside ``spaces/`` learn what it means (its axes, role,
derived fields, CSV columns) from :func:`declared`, never from its name.
Nothing here knows about Optuna trials beyond the narrow adapters in :mod:`spaces.space`.
"""

from spaces.cost import Cost
from spaces.errors import SpecError
from spaces.family import BASELINE, REFERENCE, STUDIED, Axis, Family, declared, register
from spaces.registry import FAMILIES, ArchSpec, build, cost, from_dict, from_json

__all__ = ["BASELINE", "FAMILIES", "REFERENCE", "STUDIED", "ArchSpec", "Axis", "Cost", "Family",
           "SpecError", "build", "cost", "declared", "from_dict", "from_json", "register"]
