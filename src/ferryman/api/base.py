"""The base every wire model shares: camelCase aliases, immutability, lenient about unknown fields.

Unknown fields are ignored rather than refused because a real API server prunes them before we
ever see an object; the strict checks live in ``api.validation`` (every problem with its path).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class WireModel(BaseModel):
    """A frozen model whose JSON form is exactly what Kubernetes stores."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        extra="ignore",
        use_enum_values=False,
    )

    def to_wire(self) -> dict[str, Any]:
        """The object as JSON for the API server: aliases, no ``None`` fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
