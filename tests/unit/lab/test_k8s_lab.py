"""The lab cluster's keys, identities, kubeconfigs and command lines, without starting anything."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from dcops.core.errors import InputError
from dcops.core.loader import load_site
from dcops.lab import k8s_access, k8s_cluster, k8s_pki, k8s_processes


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keys_are_private_and_the_serving_cert_is_signed_for_loopback(tmp_path: Path) -> None:
    from cryptography import x509

    k8s_pki.ensure_pki(tmp_path / "pki")
    files = sorted((tmp_path / "pki").iterdir())
    assert [f.name for f in files] == [
        "apiserver.crt",
        "apiserver.key",
        "ca.crt",
        "ca.key",
        "sa.key",
        "sa.pub",
    ]
    assert all(mode(f) == 0o600 for f in files)
    assert mode(tmp_path / "pki") == 0o700
    ca = x509.load_pem_x509_certificate((tmp_path / "pki" / "ca.crt").read_bytes())
    server = x509.load_pem_x509_certificate((tmp_path / "pki" / "apiserver.crt").read_bytes())
    server.verify_directly_issued_by(ca)
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "kubernetes.default.svc" in names.get_values_for_type(x509.DNSName)
    assert [str(a) for a in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "10.96.0.1"]


def test_keys_are_kept_when_they_exist(tmp_path: Path) -> None:
    k8s_pki.ensure_pki(tmp_path)
    before = {f.name: f.read_bytes() for f in tmp_path.iterdir()}
    k8s_pki.ensure_pki(tmp_path)
    assert {f.name: f.read_bytes() for f in tmp_path.iterdir()} == before


def test_identities_cover_ops_the_controller_manager_and_each_department(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.csv"
    first = k8s_access.ensure_identities(tokens, ["fgw", "wjw"])
    assert mode(tokens) == 0o600
    assert first["dcops-ops"].groups == ("system:masters",)
    assert first["dept-fgw"].groups == ("dept-fgw",)
    assert first["system:kube-controller-manager"].groups == ()
    assert len({i.token for i in first.values()}) == 4
    again = k8s_access.ensure_identities(tokens, ["fgw", "wjw", "gaj"])
    assert again["dept-fgw"].token == first["dept-fgw"].token
    assert "dept-gaj" in again
    assert k8s_access.read_identities(tokens) == again
    assert "dept-fgw,dept-fgw,dept-fgw" in tokens.read_text()


def test_a_department_kubeconfig_carries_only_its_own_token(tmp_path: Path) -> None:
    ident = k8s_access.Identity("dept-fgw", ("dept-fgw",), "t0ken")
    text = k8s_access.kubeconfig("https://127.0.0.1:6443", b"CA", ident)
    config = yaml.safe_load(text)
    assert config["users"] == [{"name": "dept-fgw", "user": {"token": "t0ken"}}]
    assert config["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"
    assert config["current-context"] == "dcops-lab-dept-fgw"
    path = tmp_path / "kube" / "fgw.yaml"
    k8s_access.write_kubeconfig(path, text)
    assert mode(path) == 0o600


def test_command_lines_stay_on_loopback_and_name_the_cluster_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(k8s_processes, "binary", lambda name: f"/opt/{name}")
    ports = k8s_processes.Ports.from_apiserver(7443)
    etcd = k8s_processes.etcd_command(tmp_path, ports)
    api = k8s_processes.apiserver_command(tmp_path, ports)
    kcm = k8s_processes.controller_manager_command(tmp_path)
    assert "--listen-client-urls=http://127.0.0.1:17443" in etcd
    assert "--listen-peer-urls=http://127.0.0.1:17444" in etcd
    assert {
        "--bind-address=127.0.0.1",
        "--anonymous-auth=false",
        "--authorization-mode=RBAC",
    } <= set(api)
    assert "--etcd-servers=http://127.0.0.1:17443" in api
    assert (
        "--controllers=namespace,resourcequota,garbagecollector,serviceaccount,"
        "serviceaccount-token,clusterrole-aggregation"
    ) in kcm
    assert "--use-service-account-credentials=true" in kcm
    for command in (etcd, api, kcm):
        assert any(f"{tmp_path}/" in arg for arg in command[1:])


def test_a_missing_program_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(k8s_processes.sys, "executable", "/nonexistent/bin/python")
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(k8s_processes, "find_program", lambda name: None)
    with pytest.raises(InputError, match=r"scripts/install-k8s\.sh"):
        k8s_processes.binary("kube-apiserver")
    with pytest.raises(InputError, match="etcd-server"):
        k8s_processes.binary("etcd")


def test_a_bad_port_is_refused(site_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DCOPS_LAB_K8S_PORT", "80")
    with pytest.raises(InputError, match="DCOPS_LAB_K8S_PORT='80'"):
        k8s_cluster.ports_of(load_site(site_dir))


def test_status_of_a_cluster_never_started(site_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DCOPS_LAB_K8S_PORT", raising=False)
    report = k8s_cluster.status(load_site(site_dir))
    assert not report.ready
    assert report.processes == []
    assert "dcops lab k8s up" in report.readyz
    assert report.server == "https://127.0.0.1:6443"
