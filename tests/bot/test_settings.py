"""Settings: every variable documented, wrong values explained in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import Settings, setting_names

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_in_env_example() -> None:
    example = (ROOT / ".env.example").read_text()
    for name in setting_names():
        if name != "<HELPDESK>_WEBHOOK_SECRET":
            assert f"\n{name}=" in example, name
    assert "ZENDESK_WEBHOOK_SECRET=" in example and "DESKPULSE_WEBHOOK_SECRET=" in example


def test_defaults_work_with_nothing_set() -> None:
    settings = Settings()
    assert settings.database_url == "sqlite:///deskpulse.db"
    assert (settings.host, settings.port, settings.timezone) == ("0.0.0.0", 3000, "UTC")
    assert settings.webhook_max_age_seconds == 300 and settings.webhook_secrets == {}


def test_helpdesk_secrets_come_from_env_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ZENDESK_WEBHOOK_SECRET=from-file\nGORGIAS_WEBHOOK_SECRET=g\n")
    monkeypatch.setenv("ZENDESK_WEBHOOK_SECRET", "from-env")
    assert Settings().webhook_secret_values() == {"zendesk": "from-env", "gorgias": "g"}


@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("DESKPULSE_PORT", "abc", "DESKPULSE_PORT"),
    ("DESKPULSE_PORT", "70000", "less than or equal to 65535"),
    ("DESKPULSE_TIMEZONE", "Mars/Olympus", "IANA time zone"),
    ("DESKPULSE_WEBHOOK_MAX_AGE_SECONDS", "-1", "DESKPULSE_WEBHOOK_MAX_AGE_SECONDS"),
    ("DATABASE_URL", "mysql://x", "sqlite:///FILE or postgresql"),
    ("SLACK_API_URL", "slack.com", "http(s) URL"),
])
def test_a_wrong_value_stops_with_one_line_and_exit_code_2(tmp_path: Path, variable: str, value: str,
                                                           expected: str) -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], cwd=tmp_path, capture_output=True,
                            text=True, env={"PATH": "/usr/bin:/bin", variable: value}, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0] and expected in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("url", "expected"), [
    ("sqlite:///{tmp}/no-such-folder/deskpulse.db", "writable by this user"),
    ("postgresql+psycopg://support:s3cret@127.0.0.1:1/deskpulse", "is the server running"),
])
def test_a_database_that_cannot_be_opened_stops_with_one_line_and_exit_code_1(tmp_path: Path, url: str,
                                                                              expected: str) -> None:
    for command in (["serve"], ["db", "upgrade"]):
        result = subprocess.run([sys.executable, "-m", "bot", *command], cwd=tmp_path, capture_output=True,
                                text=True, env={"PATH": "/usr/bin:/bin", "DATABASE_URL": url.format(tmp=tmp_path)},
                                timeout=60)
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert "cannot use the database" in lines[-1] and expected in lines[-1], result.stderr
        assert "Traceback" not in result.stderr and "s3cret" not in result.stderr
