"""The base of every model read from the site's files."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A site or inventory model: unknown fields are errors and values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)
