"""References to secrets kept outside the site files (environment or state-dir file), and reading them."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, model_validator

from dcops.core.errors import InputError
from dcops.core.strict import Strict


class SecretRef(Strict):
    """Where a secret is: an environment variable or a file in the state dir; never the secret."""

    env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    file: str | None = Field(default=None, min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _not_literal(cls, value: object) -> object:
        if isinstance(value, str | int):
            raise ValueError(
                "secrets are never written in inventory or dcops.toml; "
                "allowed: {env: VARIABLE} or {file: path in the state dir}"
            )
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError(
                "give exactly one of env (a variable name) or file (a path in the state dir)"
            )
        if self.file is not None and (self.file.startswith("/") or ".." in self.file.split("/")):
            raise ValueError(f"file {self.file!r} must be a relative path inside the state dir")
        return self

    def describe(self) -> str:
        """Where the secret comes from, for messages (never the secret itself)."""
        return f"environment variable {self.env}" if self.env else f"state file {self.file}"

    def read(self, state: Path, what: str) -> str:
        """The secret; InputError naming where it was looked for when it is absent."""
        if self.env is not None:
            value = os.environ.get(self.env)
            if not value:
                raise InputError(f"{what}: environment variable {self.env} is not set; set it")
            return value
        assert self.file is not None
        path = state / self.file
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError:
            raise InputError(
                f"{what}: secret file {path} cannot be read; create it (mode 0600)"
            ) from None
        if not value:
            raise InputError(f"{what}: secret file {path} is empty")
        return value
