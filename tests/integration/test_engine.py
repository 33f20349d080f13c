"""The Pulumi engine scripts/install-engine.sh builds: the CLI and both plugins, without a cloud.

What the stacks use (resource types, input properties, nested fields, functions and provider
settings) is taken from the stacks themselves — the offline evaluation of the example site's
tenancy requests and its platform stack — and must all be in each built plugin's schema.
Without the engine these tests skip, loudly: CI builds it (scripts/install.sh runs
scripts/install-engine.sh), so there a skip means the build is missing, never a pass.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import re
import subprocess
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from dcops.core import engine
from tests.conftest import REPO

pytestmark = [pytest.mark.integration, pytest.mark.live, pytest.mark.engine]

CLI_VERSION = re.search(
    r"^CLI_VERSION=(\S+)$", (REPO / "scripts" / "install-engine.sh").read_text(), re.M
).group(1)  # type: ignore[union-attr]


def built(program: str) -> Path:
    """An engine program dcops would run, or a loud skip saying how to build it."""
    found = engine.find(program)
    if found is None:
        pytest.skip(
            f"ENGINE NOT BUILT — {program} is neither in {engine.engine_dirs()[0]} nor on PATH; "
            "run scripts/install-engine.sh (CI builds it: a skip there is a failure to build, "
            "not a pass)"
        )
    return found


def engine_env(tmp_path: Path) -> dict[str, str]:
    """The environment dcops gives the engine, with a private Pulumi home."""
    cli = built(engine.CLI)
    return {**os.environ, **engine.environment(cli), "PULUMI_HOME": str(tmp_path / "home")}


_schemas: dict[str, dict[str, Any]] = {}


def schema_of(package: str, tmp_path: Path) -> dict[str, Any]:
    """The schema the built plugin serves, as the engine reads it (`pulumi package get-schema`)."""
    if package not in _schemas:
        plugin = built(engine.plugin_program(package))
        done = subprocess.run(
            [str(built(engine.CLI)), "package", "get-schema", str(plugin)],
            env=engine_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        _schemas[package] = json.loads(done.stdout)
    return _schemas[package]


# What the stacks use, from their offline evaluation.


@dataclass
class Usage:
    """Per Pulumi package: resources and functions with every input seen, provider settings."""

    resources: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    functions: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    providers: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def of(self, package: str) -> Usage:
        mine = Usage()
        for source, target in (
            (self.resources, mine.resources),
            (self.functions, mine.functions),
        ):
            for token, inputs in source.items():
                if token.split(":")[0] == package:
                    target[token] = inputs
        mine.providers[package] = self.providers.get(package, [])
        return mine


_usage: list[Usage] = []


def stack_usage() -> Usage:
    """Everything the example tenancies and the platform stack register or invoke."""
    if _usage:
        return _usage[0]
    import pulumi

    from dcops.core.loader import load_site
    from dcops.stacks.allocation import OfflineAllocation, public_pool
    from dcops.stacks.config import platform_args, tenancy_spec
    from dcops.stacks.evaluation import evaluate
    from dcops.stacks.mocks import CloudMocks
    from dcops.stacks.plan import _program
    from dcops.stacks.program import Clouds, platform_program
    from dcops.tenancy.request import load_request

    usage = Usage()

    class Recording(CloudMocks):
        def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
            usage.functions[args.token].append(dict(args.args))
            return super().call(args)

    site = load_site(REPO)
    requests = sorted((REPO / "inventory" / "requests").glob("*.yml"))
    assert requests, "the example site has tenancy requests"
    specs = [tenancy_spec(load_request(p, site), site, OfflineAllocation(site)) for p in requests]
    programs = [_program(spec, lambda key: pulumi.Output.secret(f"<{key}>")) for spec in specs]
    programs.append(platform_program(platform_args(site), Clouds()))
    for resource in evaluate(programs, Recording(public_pool(site))).resources:
        if resource.type.startswith("pulumi:providers:"):
            usage.providers[resource.type.removeprefix("pulumi:providers:")].append(resource.inputs)
        elif resource.custom:
            usage.resources[resource.type].append(resource.inputs)
    _usage.append(usage)
    return usage


def missing_fields(
    schema: dict[str, Any], properties: dict[str, Any], value: dict[str, Any], where: str
) -> Iterator[str]:
    """Each key of value (and of its nested objects) that the schema's properties lack."""
    for key, item in value.items():
        if key not in properties:
            yield f"{where}.{key}"
        else:
            yield from _missing_nested(schema, properties[key], item, f"{where}.{key}")


def _missing_nested(
    schema: dict[str, Any], spec: dict[str, Any], value: Any, where: str
) -> Iterator[str]:
    ref = spec.get("$ref", "")
    if ref.startswith("#/types/") and isinstance(value, dict):
        token = unquote(ref.removeprefix("#/types/"))
        kind = schema.get("types", {}).get(token)
        if kind is None:
            yield f"{where}: type {token}"
        elif kind.get("type") == "object":
            yield from missing_fields(schema, kind.get("properties", {}), value, where)
    elif spec.get("type") == "array" and isinstance(value, list):
        for i, item in enumerate(value):
            yield from _missing_nested(schema, spec.get("items", {}), item, f"{where}[{i}]")
    elif (
        spec.get("type") == "object" and isinstance(value, dict) and "additionalProperties" in spec
    ):
        for key, item in value.items():
            yield from _missing_nested(schema, spec["additionalProperties"], item, f"{where}.{key}")


def gaps(package: str, tmp_path: Path) -> list[str]:
    """What the stacks use from a package that its built plugin's schema does not have."""
    schema = schema_of(package, tmp_path)
    usage = stack_usage().of(package)
    assert usage.resources, f"the stacks use no {package} resources? (offline evaluation empty)"
    found: list[str] = []
    for token, registrations in sorted(usage.resources.items()):
        spec = schema.get("resources", {}).get(token)
        if spec is None:
            found.append(f"resource {token}")
            continue
        for inputs in registrations:
            found.extend(missing_fields(schema, spec.get("inputProperties", {}), inputs, token))
    for token, calls in sorted(usage.functions.items()):
        function = schema.get("functions", {}).get(token)
        if function is None:
            found.append(f"function {token}")
            continue
        for args in calls:
            properties = function.get("inputs", {}).get("properties", {})
            found.extend(missing_fields(schema, properties, args, token))
    provider = schema.get("provider", {}).get("inputProperties", {})
    for inputs in usage.providers[package]:
        found.extend(missing_fields(schema, provider, inputs, f"provider {package}"))
    return sorted(set(found))


# The tests.


def test_cli_is_the_pinned_version_and_the_automation_api_accepts_it() -> None:
    from pulumi import automation as auto

    cli = built(engine.CLI)
    assert engine.version_of(cli) == CLI_VERSION
    command = auto.PulumiCommand(root=str(cli.parent.parent))  # never .install(): it downloads
    assert str(command.version) == CLI_VERSION


@pytest.mark.parametrize(
    ("package", "sdk"), [("openstack", "pulumi-openstack"), ("kubernetes", "pulumi-kubernetes")]
)
def test_each_plugin_is_the_version_of_its_sdk(package: str, sdk: str) -> None:
    plugin = built(engine.plugin_program(package))
    assert engine.version_of(plugin) == metadata.version(sdk)


@pytest.mark.parametrize("package", ["openstack", "kubernetes"])
def test_the_plugin_schema_has_everything_the_stacks_use(package: str, tmp_path: Path) -> None:
    missing = gaps(package, tmp_path)
    assert not missing, f"used by the stacks, absent from pulumi-resource-{package}: {missing}"


def sdk_classes() -> Iterator[tuple[str, type, type | None]]:
    """(token, resource class, its Args class) of each resource in the pulumi-openstack SDK."""
    import pulumi
    import pulumi_openstack

    for info in pkgutil.walk_packages(pulumi_openstack.__path__, "pulumi_openstack."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            token = getattr(value, "pulumi_type", None)
            if (
                isinstance(value, type)
                and issubclass(value, pulumi.CustomResource)
                and isinstance(token, str)
                and value.__module__ == info.name
            ):
                yield token, value, vars(module).get(f"{name}Args")


def wire_names(args: type) -> set[str]:
    """The input property names (as the engine sees them) of an SDK Args class."""
    return {
        getattr(member.fget, "_pulumi_name", member.fget.__name__)
        for member in vars(args).values()
        if isinstance(member, property) and member.fget is not None
    }


def test_openstack_schema_has_every_resource_and_input_of_the_sdk(tmp_path: Path) -> None:
    schema = schema_of("openstack", tmp_path)
    classes = sorted(set(sdk_classes()), key=lambda c: c[0])
    resources = [c for c in classes if not c[0].startswith("pulumi:providers:")]
    assert len(resources) > 100, "the SDK's resource classes were not found"
    missing = []
    for token, _, args in resources:
        spec = schema["resources"].get(token)
        if spec is None:
            missing.append(token)
        elif args is not None:
            missing.extend(f"{token}.{n}" for n in wire_names(args) - set(spec["inputProperties"]))
    (provider_args,) = [args for token, _, args in classes if token == "pulumi:providers:openstack"]
    assert provider_args is not None
    provider = set(schema["provider"]["inputProperties"])
    missing.extend(f"provider.{n}" for n in wire_names(provider_args) - provider)
    assert not missing, missing


def preview(program: Callable[[], None], config: dict[str, str], tmp_path: Path) -> Any:
    """A preview of an inline program through dcops' own Automation API settings."""
    from pulumi import automation as auto

    from dcops.core.loader import load_site
    from dcops.stacks.automation import StackDriver
    from tests.conftest import copy_site
    from tests.unit.stacks.recorded import RecordedProgress

    site = load_site(copy_site(tmp_path / "site"))
    driver = StackDriver(site, "engine-check", program, config)
    progress = RecordedProgress()
    outcome = driver.preview(progress)
    assert isinstance(driver.stack(), auto.Stack)
    return outcome, progress


def test_openstack_preview_needs_no_cloud(tmp_path: Path) -> None:
    """Preview never calls the cloud: a small network plans against an unreachable Keystone."""
    built(engine.CLI), built(engine.plugin_program("openstack"))
    import pulumi_openstack as openstack

    def program() -> None:
        network = openstack.networking.Network("net", name="engine-check", admin_state_up=True)
        subnet = openstack.networking.Subnet(
            "subnet", network_id=network.id, cidr="10.99.0.0/24", ip_version=4
        )
        group = openstack.networking.SecGroup("sg", name="engine-check", delete_default_rules=True)
        openstack.networking.SecGroupRule(
            "ssh",
            security_group_id=group.id,
            direction="ingress",
            ethertype="IPv4",
            protocol="tcp",
            port_range_min=22,
            port_range_max=22,
            remote_ip_prefix="10.10.0.0/16",
        )
        openstack.networking.Router("router", name="engine-check")
        openstack.compute.ServerGroup("group", name="engine-check", policies="anti-affinity")
        openstack.identity.Project("project", name="engine-check", tags=["dep:fgw"])
        _ = subnet

    config = {
        "openstack:authUrl": "http://127.0.0.1:9/v3",
        "openstack:userName": "admin",
        "openstack:password": "unused",
        "openstack:tenantName": "admin",
        "openstack:userDomainName": "Default",
        "openstack:projectDomainName": "Default",
    }
    outcome, progress = preview(program, config, tmp_path)
    assert outcome.summary.get("create") == 8, (outcome.summary, progress.notes)  # 7 + the stack
    assert not [n for n in progress.notes if "error" in n.lower()], progress.notes
    assert not [n for n in progress.notes if "from $PATH" in n], "the PATH warning is dcops' choice"


def test_kubernetes_preview_without_a_cluster(tmp_path: Path) -> None:
    """Without a cluster the Kubernetes provider previews without server-side checks."""
    built(engine.CLI), built(engine.plugin_program("kubernetes"))
    import pulumi_kubernetes as kubernetes

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: nowhere\n"
        "clusters: [{name: nowhere, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "users: [{name: nobody, user: {token: unused}}]\n"
        "contexts: [{name: nowhere, context: {cluster: nowhere, user: nobody}}]\n"
    )
    kubeconfig.chmod(0o600)

    def program() -> None:
        kubernetes.core.v1.Namespace(
            "ns", metadata=kubernetes.meta.v1.ObjectMetaArgs(name="engine-check")
        )

    outcome, progress = preview(program, {"kubernetes:kubeconfig": str(kubeconfig)}, tmp_path)
    assert outcome.summary.get("create") == 2, (outcome.summary, progress.notes)
