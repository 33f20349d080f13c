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
        Problem("request form", "", "tier caps exceeded"),
    ]
    at, general = request_form.field_errors(problems)
    assert at == {"compute[0].count": "云主机数量有误 / Input should be greater than 0"}
    assert general[0] == "内容有误 / ingress[0].port: not a port"
    assert general[1] == "内容有误 / tier caps exceeded"


def test_fields_the_form_does_not_have_are_ignored() -> None:
    class Form(dict[str, str]):
        pass

    posted = Form({"purpose": " x ", "compute[99].name": "evil", "department.code": "fgw"})
    values = request_form.values_of(posted)  # type: ignore[arg-type]
    assert values["purpose"] == "x" and "compute[99].name" not in values
