"""The engine scripts/install-engine.sh builds matches the Python SDKs the stacks import.

No Go needed: these read the pins (the script, the Go wrapper modules, pyproject.toml, the
committed token table) and the installed SDKs.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path
from types import ModuleType

from semver import VersionInfo

from tests.conftest import REPO

ENGINE = REPO / "scripts" / "engine"
SCRIPT = (REPO / "scripts" / "install-engine.sh").read_text()
TOKENS = (ENGINE / "openstack" / "provider" / "tokens.go").read_text()


def script_pin(name: str) -> str:
    found = re.search(rf"^{name}=(\S+)$", SCRIPT, re.M)
    assert found, f"{name}= not found in scripts/install-engine.sh"
    return found.group(1)


def go_requirement(module_dir: Path, module: str) -> str:
    text = (module_dir / "go.mod").read_text()
    found = re.search(rf"^(?:require)?\s*{re.escape(module)} (v\S+)", text, re.M)
    assert found, f"{module} not required in {module_dir / 'go.mod'}"
    return found.group(1)


def stacks_pins() -> dict[str, str]:
    """Requirement name → specifier of pyproject's stacks extra."""
    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    pins = {}
    for req in extra["stacks"]:
        name, spec = re.match(r"([A-Za-z0-9_.-]+)(.*)", req).groups()  # type: ignore[union-attr]
        pins[name] = spec
    return pins


def gen_tokens() -> ModuleType:
    path = ENGINE / "openstack" / "gen_tokens.py"
    spec = importlib.util.spec_from_file_location("gen_tokens", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_tokens"] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


def test_cli_pin_is_one_version_and_meets_the_python_sdk_minimum() -> None:
    from pulumi.automation._minimum_version import _MINIMUM_VERSION

    cli = script_pin("CLI_VERSION")
    assert go_requirement(ENGINE / "cli", "github.com/pulumi/pulumi/pkg/v3") == f"v{cli}"
    assert go_requirement(ENGINE / "cli", "github.com/pulumi/pulumi/sdk/v3") == f"v{cli}"
    version = VersionInfo.parse(cli)
    # The Automation API refuses a CLI older than its minimum or of another major version.
    assert version >= _MINIMUM_VERSION and version.major == _MINIMUM_VERSION.major
    lower = re.search(r">=\s*([\d.]+)", stacks_pins()["pulumi"])
    assert lower, "pyproject pins a lower bound for pulumi"
    assert version >= VersionInfo.parse(lower.group(1) + ".0" * (2 - lower.group(1).count(".")))
    installed = VersionInfo.parse(metadata.version("pulumi"))
    assert version.major == installed.major


def test_kubernetes_plugin_and_sdk_are_the_same_version() -> None:
    version = script_pin("KUBERNETES_VERSION")
    assert stacks_pins()["pulumi-kubernetes"] == f"=={version}"
    assert metadata.version("pulumi-kubernetes") == version
    kubernetes = ENGINE / "kubernetes"
    assert go_requirement(kubernetes, "github.com/pulumi/pulumi-kubernetes/sdk/v4") == f"v{version}"


def test_openstack_plugin_takes_the_sdk_version() -> None:
    version = re.search(r'^const SDKVersion = "(.+)"$', TOKENS, re.M)
    assert version, "SDKVersion in tokens.go"
    assert stacks_pins()["pulumi-openstack"] == f"=={version.group(1)}"
    assert metadata.version("pulumi-openstack") == version.group(1), (
        "the installed pulumi-openstack differs from the token table: run "
        "scripts/engine/openstack/gen_tokens.py and rebuild with scripts/install-engine.sh"
    )


def test_openstack_token_table_covers_every_sdk_token() -> None:
    resources, functions, _ = gen_tokens().sdk_tokens()
    assert len(resources) > 100 and len(functions) > 50, "the SDK's tokens were not found"
    in_table = set(re.findall(r'"(openstack:[^"]+)"', TOKENS))
    missing = (resources | functions) - in_table
    assert not missing, f"SDK tokens missing from tokens.go (run gen_tokens.py): {sorted(missing)}"
    assert not in_table - (resources | functions), "tokens.go names tokens the SDK lacks"
