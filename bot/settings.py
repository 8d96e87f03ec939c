"""Settings from the environment and `.env` (pydantic-settings); built once, passed down.

Helpdesk secrets are read from every `<HELPDESK>_WEBHOOK_SECRET` variable, so a new
helpdesk adapter needs no new field here.
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.digest.commands import DigestCommandError, SetDigest, parse_digest_command
from bot.grammar import WEEKDAYS
from metrics.business_hours import BusinessCalendar, holiday_dates, holiday_names, parse_schedule
from metrics.catalog import Context
from metrics.dimensions import parse_segments
from metrics.orders import CONVERSION_DAYS, LAPSE_DAYS
from metrics.sla import DEFAULT_SLA, parse_sla
from storage.db import DEFAULT_DATABASE_URL

_SECRET_VARIABLE = re.compile(r"([A-Za-z][A-Za-z0-9]*)_WEBHOOK_SECRET", re.IGNORECASE)


class Settings(BaseSettings):
    """Every setting; the alias is the environment variable's name."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(DEFAULT_DATABASE_URL, validation_alias="DATABASE_URL")
    slack_bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field("https://slack.com/api/", validation_alias="SLACK_API_URL")
    timezone: str = Field("UTC", validation_alias="DESKPULSE_TIMEZONE")
    host: str = Field("0.0.0.0", validation_alias="DESKPULSE_HOST")
    port: int = Field(3000, ge=1, le=65535, validation_alias="DESKPULSE_PORT")
    webhook_max_age_seconds: int = Field(300, ge=0, validation_alias="DESKPULSE_WEBHOOK_MAX_AGE_SECONDS")
    webhook_secrets: dict[str, SecretStr] = Field(default_factory=dict)
    week_start: str = Field("monday", validation_alias="DESKPULSE_WEEK_START")
    business_hours: str = Field("", validation_alias="DESKPULSE_BUSINESS_HOURS")
    holidays_country: str = Field("", validation_alias="DESKPULSE_HOLIDAYS_COUNTRY")
    holidays_subdivision: str = Field("", validation_alias="DESKPULSE_HOLIDAYS_SUBDIVISION")
    holidays_extra: str = Field("", validation_alias="DESKPULSE_HOLIDAYS_EXTRA")
    sla_targets: str = Field(DEFAULT_SLA, validation_alias="DESKPULSE_SLA")
    segments: str = Field("vip=tag:vip", validation_alias="DESKPULSE_SEGMENTS")
    agent_metrics_channels: str = Field("", validation_alias="DESKPULSE_AGENT_METRICS_CHANNELS")
    agent_metrics_usergroups: str = Field("", validation_alias="DESKPULSE_AGENT_METRICS_USERGROUPS")
    digests: str = Field("", validation_alias="DESKPULSE_DIGESTS")
    digest_grace_hours: int = Field(6, ge=1, le=72, validation_alias="DESKPULSE_DIGEST_GRACE_HOURS")
    conversion_days: int = Field(CONVERSION_DAYS, ge=1, le=90, validation_alias="DESKPULSE_CONVERSION_DAYS")
    customer_lapse_days: int = Field(LAPSE_DAYS, ge=7, le=3650, validation_alias="DESKPULSE_CUSTOMER_LAPSE_DAYS")
    zendesk_subdomain: str | None = Field(None, validation_alias="ZENDESK_SUBDOMAIN")
    zendesk_email: str | None = Field(None, validation_alias="ZENDESK_EMAIL")
    zendesk_api_token: SecretStr | None = Field(None, validation_alias="ZENDESK_API_TOKEN")

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql")):
            raise ValueError("expected sqlite:///FILE or postgresql+psycopg://USER@HOST/DB")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"https?://[^/\s]+", value):
            raise ValueError("expected an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("timezone")
    @classmethod
    def _iana_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA time zone name such as Europe/Berlin or UTC") from None
        return value

    @field_validator("week_start")
    @classmethod
    def _weekday(cls, value: str) -> str:
        if value.strip().lower() not in WEEKDAYS:
            raise ValueError("expected a weekday name such as monday or sunday")
        return value.strip().lower()

    @field_validator("business_hours")
    @classmethod
    def _schedule(cls, value: str) -> str:
        if value.strip():
            parse_schedule(value)
        return value.strip()

    @field_validator("holidays_extra")
    @classmethod
    def _dates(cls, value: str) -> str:
        _extra_dates(value)
        return value

    @field_validator("sla_targets")
    @classmethod
    def _sla(cls, value: str) -> str:
        parse_sla(value)
        return value

    @field_validator("segments")
    @classmethod
    def _segments(cls, value: str) -> str:
        parse_segments(value)
        return value

    @field_validator("digests")
    @classmethod
    def _digests(cls, value: str) -> str:
        fixed_digests(value)
        return value.strip()

    @field_validator("agent_metrics_channels", "agent_metrics_usergroups")
    @classmethod
    def _slack_ids(cls, value: str) -> str:
        ids = _id_list(value)
        if any(not re.fullmatch(r"[A-Z0-9]{5,}", i) for i in ids):
            raise ValueError("expected Slack ids, comma-separated, such as C0123ABCD (channels) or S0123ABCD (groups)")
        return ",".join(ids)

    @model_validator(mode="after")
    def _holidays(self) -> Settings:
        if self.holidays_country:
            holiday_dates(self.holidays_country, subdivision=self.holidays_subdivision or None, years=[2026])
        elif self.holidays_subdivision:
            raise ValueError("DESKPULSE_HOLIDAYS_SUBDIVISION needs DESKPULSE_HOLIDAYS_COUNTRY")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def first_weekday(self) -> int:
        return WEEKDAYS.index(self.week_start)

    def calendar(self) -> BusinessCalendar | None:
        """The business calendar; None when no business hours are set."""
        if not self.business_hours:
            return None
        return _calendar(self.timezone, self.business_hours, self.holidays_country, self.holidays_subdivision,
                         self.holidays_extra)

    @property
    def digest_grace(self) -> timedelta:
        return timedelta(hours=self.digest_grace_hours)

    def fixed_digests(self) -> list[tuple[str, SetDigest]]:
        return fixed_digests(self.digests)

    def holiday_names(self) -> dict[date, str]:
        """The team's holidays (public ones of DESKPULSE_HOLIDAYS_COUNTRY, plus the extra dates)."""
        return _holiday_names(self.holidays_country, self.holidays_subdivision, self.holidays_extra)

    def metric_context(self, now: datetime) -> Context:
        return Context(now=now, calendar=self.calendar(), zone=self.zone, sla=parse_sla(self.sla_targets),
                       segments=parse_segments(self.segments), conversion_window=timedelta(days=self.conversion_days),
                       lapse=timedelta(days=self.customer_lapse_days))

    @property
    def slack_configured(self) -> bool:
        return bool(_secret(self.slack_bot_token) and _secret(self.slack_signing_secret))

    @property
    def socket_mode(self) -> bool:
        return bool(_secret(self.slack_bot_token) and _secret(self.slack_app_token))

    @property
    def agent_metric_channels(self) -> frozenset[str]:
        return frozenset(_id_list(self.agent_metrics_channels))

    @property
    def agent_metric_usergroups(self) -> frozenset[str]:
        return frozenset(_id_list(self.agent_metrics_usergroups))

    def zendesk_api(self) -> dict[str, str]:
        """`deskpulse backfill zendesk`'s defaults: subdomain, email and token, those that are set."""
        values = {"subdomain": (self.zendesk_subdomain or "").strip(), "email": (self.zendesk_email or "").strip(),
                  "token": _secret(self.zendesk_api_token).strip()}
        return {name: value for name, value in values.items() if value}

    def webhook_secret_values(self) -> dict[str, str]:
        return {source: secret.get_secret_value() for source, secret in self.webhook_secrets.items()}

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, dotenv_settings, _WebhookSecrets(settings_cls), file_secret_settings)


class _WebhookSecrets(PydanticBaseSettingsSource):
    """Collects `<HELPDESK>_WEBHOOK_SECRET` from `.env` and the environment (which wins)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        env_file = self.config.get("env_file")
        variables: dict[str, str | None] = {}
        if env_file and Path(str(env_file)).is_file():
            variables.update(dotenv_values(str(env_file)))
        variables.update(os.environ)
        secrets = {m.group(1).lower(): value for name, value in variables.items()
                   if value and (m := _SECRET_VARIABLE.fullmatch(name))}
        return {"webhook_secrets": secrets} if secrets else {}


HOLIDAY_YEARS = range(2000, 2051)


@lru_cache(maxsize=8)
def _calendar(timezone: str, hours: str, country: str, subdivision: str, extra: str) -> BusinessCalendar:
    """One calendar object per configuration: its day caches are found by identity, query after query."""
    holidays = frozenset(_extra_dates(extra))
    if country:
        holidays |= holiday_dates(country, subdivision=subdivision or None, years=HOLIDAY_YEARS)
    return BusinessCalendar(ZoneInfo(timezone), parse_schedule(hours), holidays)


@lru_cache(maxsize=8)
def _holiday_names(country: str, subdivision: str, extra: str) -> dict[date, str]:
    names = dict.fromkeys(_extra_dates(extra), "Holiday")
    if country:
        names.update(holiday_names(country, subdivision=subdivision or None, years=HOLIDAY_YEARS))
    return names


def fixed_digests(text: str) -> list[tuple[str, SetDigest]]:
    """DESKPULSE_DIGESTS: `<channel id> daily 09:00 [filters]; <channel id> weekly monday 09:00 …`."""
    found = []
    for entry in (e.strip() for e in text.split(";") if e.strip()):
        channel, _, words = entry.partition(" ")
        if not re.fullmatch(r"[A-Z0-9]{5,}", channel.strip().upper()):
            raise ValueError(f"{entry!r}: start each digest with a Slack channel id such as C0123ABCD")
        try:
            command = parse_digest_command(f"digest {words}")
        except DigestCommandError as problem:
            raise ValueError(f"{entry!r}: {problem}") from None
        if not isinstance(command, SetDigest):
            raise ValueError(f"{entry!r}: expected `daily 09:00` or `weekly monday 09:00` after the channel id")
        found.append((channel.strip().upper(), command))
    return found


def _extra_dates(text: str) -> list[date]:
    try:
        return [date.fromisoformat(d.strip()) for d in text.split(",") if d.strip()]
    except ValueError:
        raise ValueError("expected dates like 2026-12-24,2026-12-31") from None


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def _id_list(text: str) -> list[str]:
    return [part.strip().upper() for part in text.split(",") if part.strip()]


def setting_names() -> list[str]:
    """Every variable a user can set (checked against .env.example by a test)."""
    names = [str(f.validation_alias) for f in Settings.model_fields.values() if f.validation_alias]
    return [*names, "<HELPDESK>_WEBHOOK_SECRET"]


def explain(error: ValidationError) -> list[str]:
    """One line per wrong value: the variable, what is expected, what was given."""
    lines = []
    for problem in error.errors():
        variable = str(problem["loc"][0]) if problem["loc"] else "settings"
        expected = problem["msg"].removeprefix("Value error, ")
        lines.append(f"{variable}: {expected} (got {str(problem.get('input'))[:60]!r})")
    return lines
