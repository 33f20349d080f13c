"""The request form: posted fields become a request document, and the validators' problems land
at the field they name, in Chinese first."""

from __future__ import annotations

from dcops.core.errors import Problem
from dcops.server import request_form


def _values(**given: str) -> dict[str, str]:
    values = dict.fromkeys(request_form.field_names(), "")
    values.update({k.replace("__", "."): v for k, v in given.items()})
    return values


def test_filled_rows_become_the_document_and_empty_rows_are_left_out() -> None:
    values = _values(purpose="p", environment="production")
    values.update({"department.code": "fgw", "compute[0].name": "web", "compute[0].count": "2",
                   "compute[0].flavor": "c2.m4", "networks[1].size": "x24"})  # fmt: skip
    doc = request_form.document(values, "市发展和改革委员会")
    assert doc["department"] == {"code": "fgw", "name": "市发展和改革委员会"}
    assert doc["compute"] == [{"name": "web", "flavor": "c2.m4", "count": 2}]
    assert doc["networks"] == [{"size": "x24"}]  # the validator says what is wrong with it
    assert "contacts" not in doc and "expires" not in doc


def test_problems_are_placed_at_their_field_in_chinese_first() -> None:
    problems = [
        Problem("request form", "compute[0].count", "Input should be greater than 0"),
        Problem("request form", "ingress[0].port", "not a port"),
        Problem("request form", "vpn[1].peer_cidrs[2]", "not a network"),
        Problem("request form", "kubernetes.quota.memory", "not a quantity"),
        Problem("request form", "load_balancers[0].health.interval", "too long"),
        Problem("request form", "", "tier caps exceeded"),
    ]
    at, general = request_form.field_errors(problems)
    assert at == {
        "compute[0].count": "云主机数量有误 / Input should be greater than 0",
        "ingress[0].port": "入站规则端口有误 / not a port",
        "vpn[1].peer_cidrs": "VPN对端网段有误 / not a network",
        "kubernetes.quota.memory": "内存配额有误 / not a quantity",
    }
    assert general[0] == "内容有误 / load_balancers[0].health.interval: too long"
    assert general[1] == "内容有误 / tier caps exceeded"


def test_ingress_load_balancers_vpn_and_kubernetes_become_their_parts() -> None:
    values = _values(purpose="p")
    values.update({"department.code": "fgw", "ingress[0].to": "web", "ingress[0].port": "443",
                   "ingress[0].from": "0.0.0.0/0", "load_balancers[0].name": "web",
                   "load_balancers[0].port": "443", "load_balancers[0].members": "web",
                   "vpn[0].name": "hq", "vpn[0].peer_cidrs": "192.168.10.0/24, 192.168.11.0/24",
                   "kubernetes.namespace": "fgw", "kubernetes.quota.cpu": "500m",
                   "kubernetes.quota.pods": "20"})  # fmt: skip
    doc = request_form.document(values, "市发展和改革委员会")
    assert doc["ingress"] == [{"to": "web", "port": 443, "from": "0.0.0.0/0"}]
    assert doc["load_balancers"] == [{"name": "web", "port": 443, "members": "web"}]
    assert doc["vpn"] == [{"name": "hq", "peer_cidrs": ["192.168.10.0/24", "192.168.11.0/24"]}]
    assert doc["kubernetes"] == {"namespace": "fgw", "quota": {"cpu": "500m", "pods": 20}}
    assert "kubernetes" not in request_form.document(_values(purpose="p"), "x")


def test_fields_the_form_does_not_have_are_ignored() -> None:
    class Form(dict[str, str]):
        pass

    posted = Form({"purpose": " x ", "compute[99].name": "evil", "department.code": "fgw"})
    values = request_form.values_of(posted)  # type: ignore[arg-type]
    assert values["purpose"] == "x" and "compute[99].name" not in values
