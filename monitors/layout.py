"""Where the monitors of a site keep their files: rules in monitors/, rendered state in the state dir."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dcops.core.errors import InputError
from dcops.core.monitoring import PAIRED_MARKER
from dcops.core.site import Site


@dataclass(frozen=True)
class MonitorLayout:
    """Paths of the shipped rules and tests, and of the rendered configs, data and logs."""

    source: Path
    state: Path

    @property
    def rules_source(self) -> Path:
        """monitors/rules/: the alert and recording rules as shipped with the site."""
        return self.source / "rules"

    @property
    def tests_source(self) -> Path:
        """monitors/tests/: promtool unit tests of the rules."""
        return self.source / "tests"

    @property
    def rules(self) -> Path:
        """Rendered rules (thresholds from dcops.toml applied)."""
        return self.state / "rules"

    @property
    def prometheus_config(self) -> Path:
        """The rendered prometheus.yml."""
        return self.state / "prometheus.yml"

    @property
    def alertmanager_config(self) -> Path:
        """The rendered alertmanager.yml."""
        return self.state / "alertmanager.yml"

    @property
    def alert_log(self) -> Path:
        """The shift log: one JSON line per notification the embedded receiver got."""
        return self.state / "alerts.jsonl"

    @property
    def notifier_db(self) -> Path:
        """The notifier's record of incidents, escalations and deliveries (SQLite)."""
        return self.state / "notifier.db"

    @property
    def paired(self) -> bool:
        """Whether `monitors up --pair` runs two Prometheus servers and two Alertmanagers."""
        return (self.state / PAIRED_MARKER.name).exists()

    def set_paired(self, paired: bool) -> None:
        """Remember (or forget) pair mode for later `up`, `status` and `down`."""
        marker = self.state / PAIRED_MARKER.name
        if paired:
            self.state.mkdir(mode=0o700, parents=True, exist_ok=True)
            marker.write_text("two Prometheus servers and an Alertmanager cluster of two\n")
        else:
            marker.unlink(missing_ok=True)

    def data_dir(self, service: str) -> Path:
        """Storage folder of a Prometheus or Alertmanager (each member of a pair its own)."""
        return self.state / f"{service}-data"

    def pid_file(self, service: str) -> Path:
        """The pid file of a service started by `dcops monitors up`."""
        return self.state / f"{service}.pid"

    def log_file(self, service: str) -> Path:
        """Where a started service writes its output."""
        return self.state / f"{service}.log"

    def rule_sources(self) -> list[Path]:
        """The shipped rule files, in name order."""
        return sorted(self.rules_source.glob("*.yml"))

    def test_sources(self) -> list[Path]:
        """The shipped promtool test files, in name order."""
        return sorted(self.tests_source.glob("*.yml"))


def layout_of(site: Site, state: Path | None = None) -> MonitorLayout:
    """The monitors layout of a site; InputError if the site has no monitors/rules/ folder."""
    source = site.paths.root / "monitors"
    if not (source / "rules").is_dir():
        raise InputError(
            f"{site.paths.relative(source / 'rules')} is missing; the site needs its rule files "
            "there (copy monitors/ from the dcops repository)"
        )
    return MonitorLayout(source=source, state=state or site.paths.state / "monitors")
