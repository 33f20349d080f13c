"""The project-scoped provider's login, what destroy cleans up after the engine, and drift text.

Found against the lab cloud, not under mocks: a provider given `cloud` ignores its `tenant_id`
(so a tenancy's resources went into the admin project), the Python SDK fills a missing `cloud`
from $OS_CLOUD, and Neutron's default security group outlives the project.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from dcops.core.errors import InputError
from dcops.stacks.automation import Outcome
from dcops.stacks.cloud_login import engine_environment, identity_down, project_login
from dcops.stacks.evaluation import evaluate
from dcops.stacks.leftovers import projects_in, rule_text
from dcops.stacks.mocks import CloudMocks
from dcops.stacks.program import Clouds, TenancyStack
from dcops.stacks.spec import TenancySpec

ENTRY = {
    "auth": {
        "auth_url": "https://keystone.gdc.example:5000/v3",
        "username": "dcops-provisioner",
        "password": "s3cret",
        "project_name": "admin",
        "project_domain_name": "Default",
        "user_domain_name": "Default",
    },
    "region_name": "RegionOne",
    "interface": "internal",
    "cacert": "/etc/ssl/gdc-ca.pem",
}


@pytest.fixture
def clouds_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "clouds.yaml"
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(path))
    for name in ("OS_CLOUD", "OS_AUTH_URL", "OS_PASSWORD", "OS_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    return path


def write(path: Path, **entries: object) -> None:
    path.write_text(yaml.safe_dump({"clouds": entries}), encoding="utf-8")


def test_the_login_is_the_entrys_user_without_its_project(clouds_yaml: Path) -> None:
    write(clouds_yaml, gdc=ENTRY)
    assert project_login("gdc") == {
        "auth_url": "https://keystone.gdc.example:5000/v3",
        "user_name": "dcops-provisioner",
        "password": "s3cret",
        "user_domain_name": "Default",
        "region": "RegionOne",
        "endpoint_type": "internal",
        "cacert_file": "/etc/ssl/gdc-ca.pem",
    }


def test_an_unknown_entry_or_a_login_that_cannot_be_rescoped_is_refused(
    clouds_yaml: Path,
) -> None:
    write(
        clouds_yaml,
        gdc=ENTRY,
        appcred={
            "auth_type": "v3applicationcredential",
            "auth": {
                "auth_url": "https://keystone.gdc.example:5000/v3",
                "application_credential_id": "abc",
                "application_credential_secret": "def",
            },
        },
    )
    with pytest.raises(InputError, match=r"clouds\.yaml has no entry 'nope'"):
        project_login("nope")
    with pytest.raises(InputError, match="needs a password login"):
        project_login("appcred")


def test_the_engine_runs_with_os_variables_emptied_but_the_config_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OS_CLOUD", "gdc")
    monkeypatch.setenv("OS_PROJECT_NAME", "admin")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", "/etc/openstack/clouds.yaml")
    env = engine_environment()
    assert env["OS_CLOUD"] == "" and env["OS_PROJECT_NAME"] == ""
    assert "OS_CLIENT_CONFIG_FILE" not in env


def test_a_keystone_that_does_not_answer_is_named_by_its_url(clouds_yaml: Path) -> None:
    entry = {**ENTRY, "auth": {**ENTRY["auth"], "auth_url": "http://127.0.0.1:9/v3"}}  # type: ignore[dict-item]
    write(clouds_yaml, gdc=entry)
    down = identity_down("gdc", timeout=2)
    assert down is not None
    assert down.startswith("Keystone at http://127.0.0.1:9/v3 (clouds.yaml entry 'gdc') does not")
    assert identity_down("nope") is None


def provider_inputs(spec: TenancySpec, clouds: Clouds) -> dict[str, object]:
    import pulumi

    def program() -> None:
        TenancyStack(spec, clouds, lambda key: pulumi.Output.secret("psk"))

    resources = evaluate([program], CloudMocks()).resources
    [scoped] = [r for r in resources if r.name == f"{spec.name}-project"]
    return scoped.inputs


def test_the_scoped_provider_logs_in_by_hand_with_an_empty_cloud(
    sample_spec: TenancySpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OS_CLOUD", "dcops-lab")  # the SDK would fill a missing cloud from it
    login = {"auth_url": "http://keystone:5000/v3", "user_name": "admin", "password": "pw"}
    inputs = provider_inputs(sample_spec, Clouds(openstack_cloud="dcops-lab", login=login))
    assert inputs["cloud"] == ""
    assert inputs["authUrl"] == "http://keystone:5000/v3" and inputs["userName"] == "admin"
    assert "tenantId" in inputs
    offline = provider_inputs(sample_spec, Clouds(openstack_cloud="gdc"))
    assert offline["cloud"] == "gdc" and "authUrl" not in offline


def test_destroy_finds_the_projects_of_a_stack() -> None:
    deployment = {
        "resources": [
            {"type": "openstack:identity/project:Project", "id": "p1"},
            {"type": "openstack:networking/network:Network", "id": "n1"},
            {"type": "openstack:identity/project:Project"},  # never created
        ]
    }
    assert projects_in(deployment) == ["p1"]
    assert projects_in({}) == []


def test_rules_and_outcomes_read_plainly() -> None:
    rule = SimpleNamespace(
        direction="ingress",
        ether_type="IPv4",
        protocol="tcp",
        port_range_min=3389,
        port_range_max=3389,
        remote_ip_prefix="0.0.0.0/0",
        remote_group_id=None,
    )
    assert rule_text(rule) == "ingress IPv4 tcp 3389 from 0.0.0.0/0"
    anything = SimpleNamespace(**{**vars(rule), "protocol": None, "port_range_min": None})
    assert rule_text(anything) == "ingress IPv4 any from 0.0.0.0/0"
    outcome = Outcome(
        summary={"same": 44, "delete": 1},
        steps=[("refresh", "urn:a"), ("delete", "urn:b"), ("same", "urn:c")],
        drift=["not declared: rule r1"],
        notes=["removed security group default left in project p1"],
    )
    assert outcome.changes == 2
    assert outcome.text().splitlines() == [
        "delete 1, same 44; drift: 1 rule(s) made outside the stack",
        "delete urn:b",
        "not declared: rule r1",
        "removed security group default left in project p1",
    ]
