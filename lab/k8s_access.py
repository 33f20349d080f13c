"""Who may use the lab cluster: static tokens for ops, the controller manager and each department,
and a kubeconfig (0600) for ops and for every department of the site."""

from __future__ import annotations

import base64
import csv
import io
import secrets
from dataclasses import dataclass
from pathlib import Path

import yaml

from dcops.lab.k8s_pki import write_private

CLUSTER = "dcops-lab"
OPS_USER = "dcops-ops"
OPS_GROUP = "system:masters"
CONTROLLER_MANAGER_USER = "system:kube-controller-manager"


@dataclass(frozen=True)
class Identity:
    """One user the API server knows by a static token, with its groups."""

    name: str
    groups: tuple[str, ...]
    token: str


def department_user(code: str) -> str:
    """The lab user of a department (its group has the same name)."""
    return f"dept-{code}"


def department_group(code: str) -> str:
    """The group a department's people are in; tenancy RoleBindings bind it (`dept-<code>`)."""
    return f"dept-{code}"


def ensure_identities(token_file: Path, departments: list[str]) -> dict[str, Identity]:
    """Read the token file, add what is missing (ops, controller manager, departments), keep the rest."""
    known = read_identities(token_file)
    wanted = [
        (OPS_USER, (OPS_GROUP,)),
        (CONTROLLER_MANAGER_USER, ()),
        *[(department_user(c), (department_group(c),)) for c in departments],
    ]
    changed = False
    for name, groups in wanted:
        if name not in known or known[name].groups != groups:
            known[name] = Identity(name, groups, secrets.token_hex(24))
            changed = True
    if changed or not token_file.exists():
        write_identities(token_file, known)
    return known


def read_identities(token_file: Path) -> dict[str, Identity]:
    """The identities in a token file (token,user,uid,"group,group"), by user name."""
    if not token_file.exists():
        return {}
    found: dict[str, Identity] = {}
    for row in csv.reader(io.StringIO(token_file.read_text(encoding="utf-8"))):
        if len(row) >= 3:
            groups = tuple(g for g in (row[3] if len(row) > 3 else "").split(",") if g)
            found[row[1]] = Identity(row[1], groups, row[0])
    return found


def write_identities(token_file: Path, identities: dict[str, Identity]) -> None:
    """Write the API server's static token file (0600)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for ident in identities.values():
        writer.writerow([ident.token, ident.name, ident.name, ",".join(ident.groups)])
    write_private(token_file, out.getvalue().encode())


def kubeconfig(server: str, ca_pem: bytes, identity: Identity, namespace: str = "") -> str:
    """A kubeconfig with one cluster, one user (token) and one current context."""
    context = f"{CLUSTER}-{identity.name}"
    ctx: dict[str, str] = {"cluster": CLUSTER, "user": identity.name}
    if namespace:
        ctx["namespace"] = namespace
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CLUSTER,
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_pem).decode(),
                },
            }
        ],
        "users": [{"name": identity.name, "user": {"token": identity.token}}],
        "contexts": [{"name": context, "context": ctx}],
        "current-context": context,
    }
    return yaml.safe_dump(document, sort_keys=False)


def write_kubeconfig(path: Path, text: str) -> None:
    """Write a kubeconfig file readable by its owner only (0600)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private(path, text.encode())
