"""Write provider/tokens.go: Terraform name → Pulumi token, as the PyPI `pulumi-openstack` SDK spells it.

The stacks import the `pulumi-openstack` Python SDK; every class registers a resource under a
token (`openstack:compute/instance:Instance`) and every function invokes one
(`openstack:compute/getFlavor:getFlavor`). dcops' own plugin must serve exactly those tokens, or the
stacks' code breaks. This script reads the tokens out of the installed SDK and matches each
Terraform resource and data source of terraform-provider-openstack to one:

- by name: `openstack_<prefix>_<rest>[_vN]` ↔ `<module>/…:<Name>` where the module is the prefix
  (`lb` is `loadbalancer`, `fw` `firewall`, `db` `database`) and the name, lower-cased and without
  underscores, is the rest with or without its version suffix (functions: prefixed `get`);
  names without a module of their own live in `index` (`index/taasTapMirrorV2:TaasTapMirrorV2`);
- the few SDK spellings no rule predicts are listed in EXCEPTIONS below;
- the SDK's deprecated duplicates (`index/lbLoadbalancerV2:LbLoadbalancerV2` …) are read from the
  SDK's own deprecation messages ("X has been deprecated in favor of Y") and become the bridge's
  renames with alias.

Run it after changing the pinned `pulumi-openstack` or terraform-provider-openstack version:

    cd scripts/engine/openstack && ../../../.venv/bin/python gen_tokens.py

It fails if any Terraform name or SDK token is left unmatched. tests/unit/stacks/test_engine_tokens.py
checks that the committed table still matches the installed SDK.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "provider" / "tokens.go"
TF_MODULE = "github.com/terraform-provider-openstack/terraform-provider-openstack/v3"

MODULE_ALIASES = {"lb": "loadbalancer", "fw": "firewall", "db": "database"}
# Terraform name → token where the SDK's spelling follows no rule (typos and renames kept by the
# SDK for compatibility).
EXCEPTIONS = {
    "resource": {
        "openstack_blockstorage_quotaset_v3": "openstack:blockstorage/quoteSetV3:QuoteSetV3",
        "openstack_objectstorage_object_v1": "openstack:objectstorage/containerObject:ContainerObject",
    },
    "function": {
        "openstack_dns_zone_v2": "openstack:dns/getDnsZone:getDnsZone",
        "openstack_lb_flavor_v2": "openstack:loadbalancer/getLbFlavorDeprecated:getLbFlavorDeprecated",
        "openstack_sharedfilesystem_availability_zones_v2": (
            "openstack:sharedfilesystem/getAvailbilityZones:getAvailbilityZones"
        ),
    },
}

RESOURCE = re.compile(r"super\(\w*,?\s*\w*\)\.__init__\(\s*'(openstack:[^']+)'")
FUNCTION = re.compile(r"pulumi\.runtime\.invoke\(\s*'(openstack:[^']+)'")
DEPRECATED = re.compile(
    r"openstack\.(?P<old_mod>[\w/]+)\.(?P<old>\w+) has been deprecated in favor of "
    r"openstack\.(?P<new_mod>[\w/]+)\.(?P<new>\w+)"
)


@dataclass(frozen=True)
class Rename:
    """A deprecated duplicate token of a Terraform name (the bridge's rename with alias)."""

    tf: str
    legacy: str
    legacy_module: str
    new_module: str


def sdk_tokens() -> tuple[set[str], set[str], str]:
    """Resource tokens, function tokens and the version of the installed pulumi-openstack SDK."""
    import pulumi_openstack

    root = Path(pulumi_openstack.__file__).parent
    resources: set[str] = set()
    functions: set[str] = set()
    for source in sorted(root.rglob("*.py")):
        text = source.read_text(encoding="utf-8")
        resources |= set(RESOURCE.findall(text))
        functions |= set(FUNCTION.findall(text))
    return resources, functions, metadata.version("pulumi-openstack")


def sdk_deprecations() -> list[tuple[str, str, str, str]]:
    """(old module path, old name, new module path, new name) of each deprecated SDK token."""
    import pulumi_openstack

    found = set()
    for source in sorted(Path(pulumi_openstack.__file__).parent.rglob("*.py")):
        for m in DEPRECATED.finditer(source.read_text(encoding="utf-8")):
            found.add((m["old_mod"], m["old"], m["new_mod"], m["new"]))
    return sorted(found)


def tf_names(go_dir: Path) -> tuple[list[str], list[str], str]:
    """Data source names, resource names and version of terraform-provider-openstack, from its
    provider.go in the Go module cache (`go mod download` first)."""
    out = subprocess.run(
        ["go", "list", "-m", "-json", TF_MODULE],
        cwd=go_dir,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    info = json.loads(out)
    source = (Path(info["Dir"]) / "openstack" / "provider.go").read_text(encoding="utf-8")
    data_block = source.split("DataSourcesMap:", 1)[1].split("ResourcesMap:", 1)[0]
    resource_block = source.split("ResourcesMap:", 1)[1].split("\n\t\t},", 1)[0]
    names = re.compile(r'"(openstack_[a-z0-9_]+)"\s*:')
    return names.findall(data_block), names.findall(resource_block), info["Version"]


def _key(text: str) -> str:
    return text.replace("_", "").lower()


def _module(token: str) -> str:
    return token.split(":")[1].split("/")[0]


def _name(token: str) -> str:
    return token.split(":")[2]


def match(tf: str, tokens: set[str], function: bool) -> str:
    """The SDK token of one Terraform name (see the module docstring)."""
    kind = "function" if function else "resource"
    if tf in EXCEPTIONS[kind]:
        return EXCEPTIONS[kind][tf]
    body = tf.removeprefix("openstack_")
    prefix, _, rest = body.partition("_")
    module = MODULE_ALIASES.get(prefix, prefix)
    get = "get" if function else ""
    names = {get + _key(rest), get + _key(re.sub(r"_v\d+$", "", rest))}
    found = [t for t in tokens if _module(t) == module and _name(t).lower() in names]
    if not found:
        found = [
            t for t in tokens if _module(t) == "index" and _name(t).lower() == get + _key(body)
        ]
    if len(found) != 1:
        raise SystemExit(
            f"{kind} {tf}: {len(found)} SDK tokens match ({found}); add it to EXCEPTIONS"
        )
    return found[0]


def table(
    names: list[str], tokens: set[str], function: bool
) -> tuple[dict[str, str], list[Rename], set[str]]:
    """Terraform name → token, the renames with alias, and the SDK tokens left unmatched."""
    mapping = {tf: match(tf, tokens, function) for tf in names}
    by_token = {tok: tf for tf, tok in mapping.items()}
    if len(by_token) != len(mapping):
        raise SystemExit("two Terraform names map to one SDK token: " + repr(mapping))
    renames = []
    for old_mod, old, new_mod, new in sdk_deprecations():
        legacy = [t for t in tokens if _name(t) == old and t.split(":")[1].lower() == old_mod]
        current = [
            t for t in mapping.values() if _name(t) == new and t.split(":")[1].lower() == new_mod
        ]
        if legacy and current:
            renames.append(Rename(by_token[current[0]], legacy[0], old_mod, new_mod))
    left = tokens - set(mapping.values()) - {r.legacy for r in renames}
    return mapping, renames, left


def go_map(name: str, mapping: dict[str, str]) -> str:
    rows = "".join(f"\t{json.dumps(k)}: {json.dumps(v)},\n" for k, v in sorted(mapping.items()))
    return f"var {name} = map[string]string{{\n{rows}}}\n"


def go_renames(name: str, renames: list[Rename]) -> str:
    rows = "".join(
        f"\t{{tf: {json.dumps(r.tf)}, legacy: {json.dumps(r.legacy)}, "
        f"legacyModule: {json.dumps(r.legacy_module)}, newModule: {json.dumps(r.new_module)}}},\n"
        for r in sorted(renames, key=lambda r: r.tf)
    )
    return f"var {name} = []rename{{\n{rows}}}\n"


def main() -> int:
    resources, functions, sdk_version = sdk_tokens()
    data_sources, tf_resources, tf_version = tf_names(HERE)
    res_map, res_renames, res_left = table(tf_resources, resources, function=False)
    fn_map, fn_renames, fn_left = table(data_sources, functions, function=True)
    if res_left or fn_left:
        print(f"SDK tokens without a Terraform name: {sorted(res_left | fn_left)}", file=sys.stderr)
        return 1
    OUT.write_text(
        "// Code generated by gen_tokens.py from the PyPI pulumi-openstack SDK "
        f"{sdk_version}\n// and terraform-provider-openstack {tf_version}. DO NOT EDIT.\n\n"
        "package provider\n\n"
        "// SDKVersion is the pulumi-openstack SDK whose tokens this table reproduces.\n"
        f"const SDKVersion = {json.dumps(sdk_version)}\n\n"
        "// resourceTokens: Terraform resource → the SDK's resource token.\n"
        + go_map("resourceTokens", res_map)
        + "\n// dataSourceTokens: Terraform data source → the SDK's function token.\n"
        + go_map("dataSourceTokens", fn_map)
        + "\n// resourceRenames: the SDK's deprecated duplicate resources.\n"
        + go_renames("resourceRenames", res_renames)
        + "\n// dataSourceRenames: the SDK's deprecated duplicate functions.\n"
        + go_renames("dataSourceRenames", fn_renames),
        encoding="utf-8",
    )
    subprocess.run(["gofmt", "-w", str(OUT)], check=True)
    print(
        f"{OUT.relative_to(HERE)}: {len(res_map)} resources (+{len(res_renames)} deprecated), "
        f"{len(fn_map)} data sources (+{len(fn_renames)} deprecated) for pulumi-openstack {sdk_version}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
