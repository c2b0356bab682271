"""Behaviour every architecture spec shares: plain-data round trip and strict field checking."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any, ClassVar, Self

import keras

from spaces.errors import SpecError


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

    def build(self) -> keras.Model:  # pragma: no cover - every family overrides it
        raise NotImplementedError
