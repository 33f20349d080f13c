"""The [notifications] section of dcops.toml is validated like the rest of the site."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.core.errors import InvalidInput
from dcops.core.loader import load_site


def test_example_site_notifies_nobody_until_configured(site_dir: Path) -> None:
    settings = load_site(site_dir).config.notifications
    assert (settings.smtp, settings.webhook, settings.expiring_days) == (None, None, 30)


def test_bad_notification_settings_name_the_field(site_dir: Path) -> None:
    with (site_dir / "dcops.toml").open("a", encoding="utf-8") as toml:
        toml.write('[notifications.webhook]\nurl = "chat.example/hook"\n')
        toml.write('[notifications.smtp]\nhost = "127.0.0.1"\nsender = "nobody"\n')
    with pytest.raises(InvalidInput) as caught:
        load_site(site_dir)
    fields = {p.field for p in caught.value.problems}
    assert fields == {"notifications.webhook.url", "notifications.smtp.sender"}
