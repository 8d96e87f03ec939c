"""What a helpdesk adapter is, and the small pure helpers adapters share.

An adapter is one module in this package with a module-level `ADAPTER`. Its functions
are pure: no clock (the caller passes `now` / `received_at`), no database, no network.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from metrics.model import Channel, Csat, CsatScale, Event, Priority, Status, TimeSource

Headers = Mapping[str, str]  # lower-case names


class PayloadError(ValueError):
    """The body was authenticated but cannot be understood; `code` is the API error code."""

    def __init__(self, code: str, detail: str, *, status: int = 422) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status = status


class AuthError(Exception):
    """The request is not from the helpdesk (or not within the replay window)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """What an adapter sees of one request."""

    headers: Headers
    body: bytes
    payload: Any  # the strictly parsed JSON body
    hint: str | None  # the optional last path segment, /webhooks/<source>/<hint>
    received_at: datetime


@dataclass(frozen=True, kw_only=True)
class HelpdeskAdapter:
    """One helpdesk: how to authenticate it, name its deliveries and read its payloads.

    - `verify(headers, body, secret, now, max_age)` raises `AuthError` or returns None;
      `max_age` 0 switches the timestamp window off.
    - `to_events(delivery)` returns canonical events (ticket facts, or a shop's orders), `[]` for a
      payload that is valid but carries nothing deskpulse counts (kept and marked ignored), or
      raises `PayloadError`.
    - `delivery_key(delivery)` names the delivery for de-duplication; None falls back
      to a hash of the body.
    - `handshake(delivery)` returns the JSON answer to a set-up check, or None.
    - `signed_headers(secret, body, now)` returns the headers the helpdesk itself would send
      with `body`: what `verify` accepts. Tests and `deskpulse doctor` sign with it, so every
      helpdesk's route is checked by the same rules.
    """

    source: str
    verify: Callable[[Headers, bytes, str, datetime, int], None]
    to_events: Callable[[Delivery], list[Event]]
    delivery_key: Callable[[Delivery], str | None]
    signed_headers: Callable[[str, bytes, datetime], dict[str, str]]
    handshake: Callable[[Delivery], dict[str, Any] | None] = lambda delivery: None

    @property
    def secret_setting(self) -> str:
        return f"{self.source.upper()}_WEBHOOK_SECRET"


# --- authentication helpers -------------------------------------------------------------


# For helpdesks that cannot sign (Freshdesk, Gorgias): a static header carrying the secret.
TOKEN_HEADER = "x-deskpulse-token"


def hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def hmac_sha1(secret: str, message: bytes) -> bytes:
    """For helpdesks that still sign with SHA-1 (Intercom, Help Scout, Zammad, Front's rules)."""
    return hmac.new(secret.encode(), message, hashlib.sha1).digest()


def same_signature(expected: str, given: str | None) -> bool:
    """Constant-time comparison, so timing does not reveal how much of a guess was right."""
    return given is not None and hmac.compare_digest(expected.encode(), given.strip().encode())


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def check_timestamp(raw: str | None, *, now: datetime, max_age: int, header: str) -> int:
    """Parse a signed Unix-seconds (or ISO 8601) timestamp and enforce the replay window."""
    if not raw:
        raise AuthError("missing_timestamp", f"header {header} is missing")
    when = _parse_any_time(raw.strip())
    if when is None:
        raise AuthError("bad_timestamp", f"header {header} is not a timestamp")
    if max_age and abs((now - when).total_seconds()) > max_age:
        raise AuthError("stale_timestamp",
                        f"header {header} is more than {max_age} s away from the server clock")
    return int(when.timestamp())


# --- payload helpers --------------------------------------------------------------------

EARLIEST_TRUSTED = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(minutes=5)
_FRACTION = re.compile(r"(\.\d{6})\d+")


def _parse_any_time(value: Any) -> datetime | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value  # milliseconds, as some helpdesks send
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        if value[4:5] == "-":  # the usual ISO 8601 text parses as it is (3.11 reads "Z" and 7 digits)
            try:
                return _in_utc(datetime.fromisoformat(value))
            except ValueError:
                pass
        text = value.strip()
        if re.fullmatch(r"\d+(\.\d+)?", text):
            return _parse_any_time(float(text))
        try:
            parsed = datetime.fromisoformat(_FRACTION.sub(r"\1", text.replace(" UTC", "Z")))
        except ValueError:
            return None
        return _in_utc(parsed)
    return None


def _in_utc(parsed: datetime) -> datetime:
    if parsed.tzinfo is UTC:
        return parsed
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def event_time(value: Any, received_at: datetime) -> tuple[datetime, TimeSource, bool]:
    """When something happened: the payload's time if it is believable, else receipt time.

    Returns (time, where it came from, suspect). A missing value is not suspect; a value
    of 0, before 2000, unreadable, or more than 5 minutes after receipt is.
    """
    if value in (None, ""):
        return received_at, TimeSource.RECEIVED, False
    parsed = _parse_any_time(value)
    if parsed is None or parsed < EARLIEST_TRUSTED or parsed > received_at + FUTURE_TOLERANCE:
        return received_at, TimeSource.RECEIVED, True
    return parsed, TimeSource.PAYLOAD, False


def optional_time(value: Any) -> datetime | None:
    """A time that is only believed when it is plausible on its own (e.g. created_at)."""
    if value in (None, ""):
        return None
    parsed = _parse_any_time(value)
    return parsed if parsed is not None and parsed >= EARLIEST_TRUSTED else None


def text_id(value: Any, *, what: str) -> str:
    """Ids are text whatever JSON type the helpdesk used; missing ones are an error."""
    if isinstance(value, bool) or value is None or value == "":
        raise PayloadError("missing_id", f"{what} is missing")
    if isinstance(value, int | str):
        return str(value).strip()
    raise PayloadError("wrong_type", f"{what} must be a string or an integer")


def optional_text(value: Any, *, what: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise PayloadError("wrong_type", f"{what} must be text")


def amount(value: Any, *, what: str) -> float | None:
    """A money amount, as a JSON number or a decimal string ("59.99", as shops send it)."""
    if value is None or value == "":
        return None
    if not isinstance(value, bool) and isinstance(value, int | float | str):
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            return number
    raise PayloadError("wrong_type", f"{what} must be an amount such as 59.99")


def require_object(value: Any, *, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError("wrong_type", f"{what} must be a JSON object")
    return value


# --- vocabularies shared by adapters ----------------------------------------------------

_STATUS_WORDS = {
    "new": Status.NEW, "open": Status.OPEN, "opened": Status.OPEN, "active": Status.OPEN,
    "reopened": Status.OPEN, "pending": Status.PENDING, "waiting": Status.PENDING,
    "hold": Status.ON_HOLD, "on_hold": Status.ON_HOLD, "on-hold": Status.ON_HOLD,
    "snoozed": Status.ON_HOLD, "solved": Status.SOLVED, "resolved": Status.SOLVED,
    "closed": Status.CLOSED, "archived": Status.CLOSED,
}
_PRIORITY_WORDS = {
    "low": Priority.LOW, "normal": Priority.NORMAL, "medium": Priority.NORMAL,
    "high": Priority.HIGH, "urgent": Priority.URGENT,
}
_CHANNEL_WORDS = {
    "email": Channel.EMAIL, "mail": Channel.EMAIL, "chat": Channel.CHAT, "web": Channel.WEB,
    "web_form": Channel.WEB, "portal": Channel.WEB, "phone": Channel.PHONE, "voice": Channel.PHONE,
    "sms": Channel.SMS, "social": Channel.SOCIAL, "facebook": Channel.SOCIAL,
    "instagram": Channel.SOCIAL, "twitter": Channel.SOCIAL, "whatsapp": Channel.SOCIAL,
    "api": Channel.API, "other": Channel.OTHER,
}


def _word(raw: str) -> str:
    return raw.strip().lower().replace(" ", "_")


def to_status(raw: str, extra: Mapping[str, Status] | None = None) -> Status | None:
    """A helpdesk's status word in deskpulse's vocabulary; None when unknown."""
    word = _word(raw)
    return (extra or {}).get(word) or _STATUS_WORDS.get(word)


def to_priority(raw: str) -> Priority | None:
    return _PRIORITY_WORDS.get(_word(raw))


def to_channel(raw: str | None, extra: Mapping[str, Channel] | None = None) -> Channel:
    """Unknown channels become `other`; callers keep the raw word beside it."""
    if not raw:
        return Channel.OTHER
    word = _word(raw)
    return (extra or {}).get(word) or _CHANNEL_WORDS.get(word, Channel.OTHER)


def normalize_rating(scale: CsatScale, value: Any) -> tuple[Csat, float | None]:
    """A rating in good / neutral / bad (docs/metrics.md, CSAT), plus its score if numeric."""
    if scale is CsatScale.ONE_TO_FIVE:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise PayloadError("wrong_type", "a 1-5 rating must be a number")
        try:
            score = float(value)
        except ValueError:
            raise PayloadError("wrong_type", "a 1-5 rating must be a number") from None
        if not 1 <= score <= 5:
            raise PayloadError("out_of_range", "a 1-5 rating must be between 1 and 5")
        return (Csat.GOOD if score >= 4 else Csat.NEUTRAL if score >= 3 else Csat.BAD), score
    word = _word(str(value))
    table = {"good": Csat.GOOD, "bad": Csat.BAD} if scale is CsatScale.GOOD_BAD else {
        "great": Csat.GOOD, "okay": Csat.NEUTRAL, "ok": Csat.NEUTRAL, "not_good": Csat.BAD, "bad": Csat.BAD}
    if word not in table:
        raise PayloadError("out_of_range", f"{str(value)[:40]!r} is not a rating on the {scale.value} scale")
    return table[word], None
