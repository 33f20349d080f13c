"""How the tenancy store's URL reaches pg_dump: the password by environment, never by argv."""

from __future__ import annotations

import pytest

from dcops.audit.postgres_dump import is_postgresql, libpq_target
from dcops.core.errors import InputError


def test_the_password_goes_to_the_environment_and_leaves_the_uri() -> None:
    uri, env = libpq_target(
        "postgresql+psycopg://dcops:s%40cret@db.example:5433/dcops?sslmode=require"
    )
    assert uri == "postgresql://dcops@db.example:5433/dcops?sslmode=require"
    assert env == {"PGPASSWORD": "s@cret"}


def test_a_url_without_a_password_passes_as_it_is() -> None:
    uri, env = libpq_target("postgresql+psycopg://dcops@127.0.0.1:5432/dcops")
    assert (uri, env) == ("postgresql://dcops@127.0.0.1:5432/dcops", {})


@pytest.mark.parametrize("url", ["sqlite:///x.db", "postgresql+psycopg://dcops@db/", "mysql://a/b"])
def test_other_urls_are_refused_with_what_is_allowed(url: str) -> None:
    with pytest.raises(InputError, match="allowed: postgresql"):
        libpq_target(url)


def test_only_postgresql_urls_are_dumped() -> None:
    assert is_postgresql("postgresql+psycopg://dcops@db/dcops")
    assert not is_postgresql("sqlite:///state/tenancy.db") and not is_postgresql(None)
