"""Behaviour every architecture spec shares: plain-data round trip and strict field checking."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Self

from spaces.cost import Cost
from spaces.errors import SpecError
from spaces.plan import Layer, build_model, cost

if TYPE_CHECKING:
    import keras

# Keras' default (0.99) averages the batch statistics over ~100 steps: a short trial (a
# 10k-image subset is 79 steps per epoch at batch 128) was then validated with moving
# statistics still near their initial values, at chance accuracy (0.405 vs 0.80 after
# 2 epochs of 25 steps: tests/search/test_train.py). 0.9 is PyTorch's default (0.1 there).
BN_MOMENTUM = 0.9


class SpecBase:
    """Mixin for frozen dataclasses that describe one architecture of one family."""

    family: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data, ``family`` first, tuples as lists."""
        data: dict[str, Any] = {"family": self.family}
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            data[field.name] = list(value) if isinstance(value, tuple) else value
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=False)

    @classmethod
    def from_fields(cls, data: Mapping[str, Any]) -> Self:
        """Create from a mapping without ``family``; unknown keys are an error, not ignored."""
        known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - known)
        if unknown:
            raise SpecError(
                f"{cls.family}: unknown field(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        return cls(**data)

    input_shape: tuple[int, int, int]

    def model_name(self) -> str:  # pragma: no cover - every family overrides it
        raise NotImplementedError

    def layer_plan(self) -> list[Layer]:  # pragma: no cover - every family overrides it
        raise NotImplementedError

    def build(self) -> keras.Model:
        return build_model(self.model_name(), self.input_shape, self.layer_plan())

    def cost(self) -> Cost:
        """Parameters and forward FLOPs per example, from the plan: no TensorFlow needed."""
        return cost(self.layer_plan())
