"""The Automation API path as far as it goes without the engine: files, environment, errors."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from dcops.core.errors import InputError, MissingDependency, OperationFailed
from dcops.core.loader import load_site
from dcops.core.site import Site
from dcops.stacks.automation import (
    StackDriver,
    lock_message,
    stack_config,
    work_dir_of,
    workspace_options,
    write_stack_file,
)
from dcops.stacks.backend import backend_of, require_cli
from dcops.stacks.program import Clouds
from dcops.stacks.spec import TenancySpec

PSK = "correct-horse-battery-staple"
CLOUD_PASSWORD = "keystone-password-of-the-provisioner"
FAKE_CLI = """#!/bin/sh
echo "$@" >> "$FAKE_PULUMI_LOG"
env >> "$FAKE_PULUMI_LOG.env"
case " $* " in
  *" version "*) echo "v3.272.0" ;;
  *" export "*) if [ -n "$FAKE_PULUMI_STATE" ]; then cat "$FAKE_PULUMI_STATE"; else echo "error: no stack named 'organization/dcops/fgw-production' found" >&2; exit 255; fi ;;
  *" preview "*) echo "error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with \\`pulumi cancel\\`.
  file:///s/.pulumi/locks/organization/dcops/fgw-production/1.json: created by liuyang@ops-02 (pid 4242) at 2026-11-25T21:40:00+08:00" >&2; exit 255 ;;
  *) exit 0 ;;
esac
"""


@pytest.fixture
def site(site_dir: Path) -> Site:
    return load_site(site_dir)


@pytest.fixture
def psk(site: Site) -> Path:
    folder = site.paths.state_path("secrets")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / "fgw-hq-psk"
    path.write_text(PSK + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def no_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("DCOPS_ENGINE_DIR", str(empty))


@pytest.fixture
def fake_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    cli = folder / "pulumi"
    cli.write_text(FAKE_CLI)
    cli.chmod(0o755)
    log = tmp_path / "argv.log"
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DCOPS_ENGINE_DIR", str(folder))
    monkeypatch.setenv("FAKE_PULUMI_LOG", str(log))
    # The scoped provider's login comes from clouds.yaml (stacks/cloud_login.py).
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(
        "clouds:\n  gdc:\n    auth:\n      auth_url: http://127.0.0.1:9/v3\n"
        f"      username: provisioner\n      password: {CLOUD_PASSWORD}\n"
        "      user_domain_name: Default\n      project_name: admin\n"
        "      project_domain_name: Default\n"
    )
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    monkeypatch.delenv("OS_CLOUD", raising=False)
    return log


def test_missing_cli_says_how_to_install_and_that_plan_works(no_cli: None) -> None:
    with pytest.raises(MissingDependency) as caught:
        require_cli()
    assert "`pulumi` CLI is neither in" in str(caught.value)
    assert "scripts/install-engine.sh" in str(caught.value)
    assert "`dcops plan` works without it" in str(caught.value)
    assert caught.value.exit_code == 2


def test_missing_cli_stops_before_anything_is_written(
    site: Site, sample_spec: TenancySpec, psk: Path, no_cli: None
) -> None:
    with pytest.raises(MissingDependency):
        StackDriver.for_tenancy(site, sample_spec)
    assert not (site.paths.state / "stacks").exists()
    assert not (site.paths.state / "pulumi").exists()


def test_stack_file_is_private_and_holds_the_psk(
    site: Site, sample_spec: TenancySpec, psk: Path
) -> None:
    config = stack_config(site, sample_spec, Clouds())
    assert config == {"openstack:cloud": "gdc", "dcops:fgw-hq-psk": PSK}
    path = write_stack_file(work_dir_of(site, sample_spec.name), sample_spec.name, config)
    assert path.name == "Pulumi.fgw-production.yaml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert PSK in path.read_text()
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_secrets_must_exist_and_be_private(site: Site, sample_spec: TenancySpec, psk: Path) -> None:
    psk.chmod(0o644)
    with pytest.raises(InputError, match=r"readable by others .* chmod 600"):
        stack_config(site, sample_spec, Clouds())
    psk.unlink()
    with pytest.raises(
        InputError, match=r"secret 'fgw-hq-psk' is not set.*DCOPS_SECRET_FGW_HQ_PSK"
    ):
        stack_config(site, sample_spec, Clouds())


def test_secret_from_the_environment(
    site: Site, sample_spec: TenancySpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DCOPS_SECRET_FGW_HQ_PSK", "from-env")
    assert stack_config(site, sample_spec, Clouds())["dcops:fgw-hq-psk"] == "from-env"


def test_workspace_uses_the_file_backend_and_a_passphrase_file(
    site: Site, sample_spec: TenancySpec
) -> None:
    backend = backend_of(site)
    options = workspace_options(site, sample_spec.name, backend)
    state = site.paths.state / "pulumi"
    assert options.env_vars["PULUMI_BACKEND_URL"] == f"file://{state / 'state'}"
    assert options.env_vars["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(state / "passphrase")
    assert options.env_vars["PULUMI_SKIP_UPDATE_CHECK"] == "true"
    assert "PULUMI_CONFIG_PASSPHRASE" not in options.env_vars
    assert options.secrets_provider == "passphrase"
    assert options.pulumi_home == str(state / "home")
    assert options.work_dir == str(work_dir_of(site, "fgw-production"))
    assert options.project_settings.backend.url == backend.url
    assert stat.S_IMODE(backend.passphrase_file.stat().st_mode) == 0o600
    assert backend_of(site).passphrase_file.read_text() == backend.passphrase_file.read_text()


def test_backend_url_from_the_site(site_dir: Path) -> None:
    toml = site_dir / "dcops.toml"
    toml.write_text(
        toml.read_text().replace(
            '# pulumi_backend = "s3://gdc-pulumi-state"', 'pulumi_backend = "s3://gdc-pulumi-state"'
        )
    )
    assert backend_of(load_site(site_dir)).url == "s3://gdc-pulumi-state"


def test_loose_passphrase_file_is_refused(site: Site) -> None:
    backend_of(site).passphrase_file.chmod(0o644)
    with pytest.raises(InputError, match=r"passphrase file .* chmod 600"):
        backend_of(site)


def test_preview_against_a_locked_stack_names_the_holder_and_keeps_secrets_off_argv(
    site: Site, sample_spec: TenancySpec, psk: Path, fake_cli: Path
) -> None:
    from tests.unit.stacks.recorded import RecordedProgress

    driver = StackDriver.for_tenancy(site, sample_spec)
    assert driver.secrets == [PSK]
    with pytest.raises(OperationFailed) as caught:
        driver.preview(RecordedProgress())
    message = str(caught.value)
    assert "stack fgw-production is locked by liuyang@ops-02 (pid 4242" in message
    argv = fake_cli.read_text()
    assert "preview" in argv and "--stack fgw-production" in argv
    assert PSK not in argv
    assert PSK not in Path(f"{fake_cli}.env").read_text()
    assert CLOUD_PASSWORD not in argv
    assert CLOUD_PASSWORD not in Path(f"{fake_cli}.env").read_text()


def test_lock_message_without_details() -> None:
    assert "locked by another update" in lock_message("wjw-staging", "[409] Conflict")


def test_ctrl_c_asks_the_engine_to_stop_and_waits_for_it(tmp_path: Path) -> None:
    import signal
    import subprocess
    import threading
    import time

    from dcops.stacks.automation import Cancelled, _cancellable

    marker = tmp_path / "child-saw-sigint"
    script = f"trap 'echo stopped > {marker}; exit 3' INT; i=0; while [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done"
    started = time.monotonic()
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
    with pytest.raises(Cancelled) as caught:
        _cancellable(lambda: subprocess.run(["sh", "-c", script], check=False))
    assert caught.value.exit_code == 130
    assert "dcops refresh" in str(caught.value)
    assert marker.read_text().strip() == "stopped"
    assert (
        time.monotonic() - started < 9
    )  # the child stopped on the forwarded SIGINT, not at its end


def test_engine_events_drive_progress() -> None:
    from pulumi.automation import events

    from dcops.stacks.automation import Outcome, _listener
    from tests.unit.stacks.recorded import RecordedProgress

    meta = events.StepEventMetadata(
        op=events.OpType.CREATE,
        urn="urn:pulumi:s::dcops::t::fgw-production-net-app",
        type="t",
        provider="",
    )
    progress, outcome = RecordedProgress(), Outcome()
    listen = _listener(progress, outcome)
    listen(
        events.EngineEvent(
            sequence=1, timestamp=0, resource_pre_event=events.ResourcePreEvent(metadata=meta)
        )
    )
    listen(
        events.EngineEvent(
            sequence=2, timestamp=0, res_outputs_event=events.ResOutputsEvent(metadata=meta)
        )
    )
    assert [(op, done) for op, _, done, _ in progress.steps] == [
        ("create", False),
        ("create", True),
    ]
    assert outcome.steps == [("create", "urn:pulumi:s::dcops::t::fgw-production-net-app")]


def test_clouds_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OS_CLOUD", "gdc-lab")
    monkeypatch.setenv("DCOPS_KUBE_CONTEXT", "gdc-k8s")
    assert Clouds.from_environment() == Clouds("gdc-lab", "gdc-k8s")
    monkeypatch.delenv("OS_CLOUD")
    monkeypatch.delenv("DCOPS_KUBE_CONTEXT")
    assert Clouds.from_environment() == Clouds()


def test_platform_stack_has_its_own_workspace_and_no_secrets(site: Site, fake_cli: Path) -> None:
    from tests.unit.stacks.recorded import RecordedProgress

    driver = StackDriver.for_platform(site, Clouds(openstack_cloud="gdc-admin"))
    assert driver.name == "platform" and driver.secrets == []
    stack_file = work_dir_of(site, "platform") / "Pulumi.platform.yaml"
    assert stat.S_IMODE(stack_file.stat().st_mode) == 0o600
    assert stack_file.read_text() == "config:\n  openstack:cloud: gdc-admin\n"
    with pytest.raises(OperationFailed, match="stack platform is locked by liuyang@ops-02"):
        driver.preview(RecordedProgress())
    assert "preview" in fake_cli.read_text() and "--stack platform" in fake_cli.read_text()


def test_no_tenancy_may_take_the_platform_stack_name(site: Site, site_dir: Path) -> None:
    from dcops.core.errors import InvalidInput
    from dcops.tenancy.request import load_request

    path = site_dir / "inventory" / "requests" / "fgw-production.yml"
    path.write_text("name: platform\n" + path.read_text())
    with pytest.raises(InvalidInput) as caught:
        load_request(path, site)
    assert [(p.field, p.line) for p in caught.value.problems] == [("name", 1)]
    assert "'platform' is the shared platform stack's name" in caught.value.problems[0].message


def test_the_kubernetes_part_alone_and_verbs_without_a_program_need_no_psk(
    site: Site, sample_spec: TenancySpec
) -> None:
    """No secret file exists here: only the OpenStack part's program reads the VPN keys."""
    kubernetes_only = Clouds(parts=("kubernetes",))
    assert stack_config(site, sample_spec, kubernetes_only) == {"openstack:cloud": "gdc"}
    assert stack_config(site, sample_spec, Clouds(), program=False) == {"openstack:cloud": "gdc"}
    with pytest.raises(InputError, match="secret 'fgw-hq-psk' is not set"):
        stack_config(site, sample_spec, Clouds())


def step(op: str, urn: str, diffs: list[str] | None = None):  # type: ignore[no-untyped-def]
    from pulumi.automation import events

    meta = events.StepEventMetadata(op=op, urn=urn, type="t", provider="", diffs=diffs)  # type: ignore[arg-type]
    return events.EngineEvent(
        sequence=1, timestamp=0, res_outputs_event=events.ResOutputsEvent(metadata=meta)
    )


QUOTA_URN = (
    "urn:pulumi:fgw-production::dcops::dcops:stack:Tenancy$dcops:kubernetes:Tenancy"
    "$kubernetes:core/v1:ResourceQuota::fgw-production-k8s-quota"
)


def test_drift_names_the_resource_and_its_changed_properties() -> None:
    from dcops.stacks.automation import Outcome, _listener
    from tests.unit.stacks.recorded import RecordedProgress

    outcome = Outcome(summary={"same": 11, "update": 1})
    listen = _listener(RecordedProgress(), outcome)
    listen(step("refresh", QUOTA_URN.replace("quota", "limits")))
    listen(step("update", QUOTA_URN, ["spec.hard.pods"]))
    listen(step("update", QUOTA_URN, ["spec.hard.pods"]))  # preview and update both report it
    assert outcome.changes == 1
    assert outcome.text().splitlines() == [
        "same 11, update 1",
        "update kubernetes:core/v1:ResourceQuota fgw-production-k8s-quota (spec.hard.pods)",
    ]


def test_a_cluster_that_went_away_is_said_plainly_with_what_to_do() -> None:
    from dcops.stacks.automation import failure_message

    text = (
        "code: 255\n stdout: Updating (fgw-production):\n"
        '    error: Patch "https://127.0.0.1:6643/apis/networking.k8s.io/v1/namespaces/fgw/'
        'networkpolicies/allow-dns?force=true": read tcp 127.0.0.1:53662->127.0.0.1:6643: '
        "read: connection reset by peer\nResources:\n    + 7 created\n    5 errored\n"
        "Duration: 1s\n stderr: "
    )
    message = failure_message("fgw-production", text)
    assert message.startswith("云端 API 无响应 / a cloud API stopped answering")
    assert "on stack fgw-production" in message and "connection reset by peer" in message
    assert "7 created, 5 errored" in message
    assert "run the same command again to finish" in message
    plain = failure_message("fgw-production", "code: 255\n stdout: error: quota exceeded\n")
    assert (
        plain == "pulumi failed on stack fgw-production: code: 255\n stdout: error: quota exceeded"
    )


def _state_with(fake_cli: Path, monkeypatch: pytest.MonkeyPatch, *types: str) -> None:
    """The fake CLI's `stack export` answers with a stack holding resources of these types."""
    state = fake_cli.parent / "state.json"
    resources = [{"urn": f"urn:pulumi:s::dcops::{t}::r{i}", "type": t} for i, t in enumerate(types)]
    state.write_text(json.dumps({"version": 3, "deployment": {"resources": resources}}))
    monkeypatch.setenv("FAKE_PULUMI_STATE", str(state))


def test_a_new_stack_is_read_once_created_when_used_and_never_selected(
    site: Site, sample_spec: TenancySpec, psk: Path, fake_cli: Path
) -> None:
    driver = StackDriver.for_tenancy(site, sample_spec, Clouds(parts=("kubernetes",)))
    driver.read_ahead()
    driver.refuse_dropping_parts()  # nothing in a new stack to drop, and it is not made here
    export = "--non-interactive stack export --show-secrets --stack fgw-production"
    calls = [line for line in fake_cli.read_text().splitlines() if "version" not in line]
    assert calls == [export]
    driver.stack()
    calls = [line for line in fake_cli.read_text().splitlines() if "version" not in line]
    assert calls == [
        export,
        "--non-interactive stack init fgw-production --secrets-provider passphrase",
    ]


def test_only_one_part_is_refused_when_the_stack_holds_the_other(
    site: Site,
    sample_spec: TenancySpec,
    psk: Path,
    fake_cli: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _state_with(
        fake_cli, monkeypatch, "pulumi:providers:openstack", "openstack:networking/network:Network"
    )
    driver = StackDriver.for_tenancy(site, sample_spec, Clouds(parts=("kubernetes",)))
    with pytest.raises(InputError, match=r"holds openstack resources .* without --only"):
        driver.refuse_dropping_parts()
    assert "stack init" not in fake_cli.read_text()
    assert "stack select" not in fake_cli.read_text()


def test_a_runs_result_comes_from_its_summary_event(
    site: Site, sample_spec: TenancySpec, psk: Path, fake_cli: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pulumi.automation import events

    _state_with(fake_cli, monkeypatch, "kubernetes:core/v1:Namespace")
    stack = StackDriver.for_tenancy(site, sample_spec, Clouds(parts=("kubernetes",))).stack()
    seen: list[object] = []
    summary = events.SummaryEvent(False, 1, {"create": 11, "same": 1}, {})
    with stack.reporting(seen.append) as listen:
        listen(events.EngineEvent(sequence=1, timestamp=0, summary_event=summary))
        assert stack.info().resource_changes == {"create": 11, "same": 1}
        assert stack.outputs() == {}
    assert len(seen) == 1 and stack.summary is None
    assert "history" not in fake_cli.read_text() and "output" not in fake_cli.read_text()


def test_outputs_that_cannot_be_read_leave_an_applied_update_applied(
    site: Site, sample_spec: TenancySpec, psk: Path, fake_cli: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dcops.stacks.automation import Outcome

    driver = StackDriver.for_tenancy(site, sample_spec, Clouds(parts=("kubernetes",)))
    monkeypatch.setattr(driver, "_run", lambda verb, progress: Outcome(summary={"create": 12}))
    monkeypatch.setattr(driver, "_unmanaged_rules", lambda: [])

    def unreadable() -> dict[str, object]:
        raise OperationFailed("pulumi stack output: the backend folder is not readable")

    monkeypatch.setattr(driver, "_outputs", unreadable)
    outcome = driver.up(progress=None)  # type: ignore[arg-type]
    assert outcome.summary == {"create": 12} and outcome.outputs == {}
    assert outcome.notes == [
        "输出读取失败 / the stack's outputs could not be read: "
        "pulumi stack output: the backend folder is not readable"
    ]
