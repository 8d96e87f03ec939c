"""Canonical events to JSON and back, for the `ticket_events.data` column."""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from datetime import datetime
from functools import cache
from typing import Any

from metrics.model import CLASS_BY_KIND, Person, TicketEvent


def event_to_json(event: TicketEvent) -> dict[str, Any]:
    data = {"kind": event.kind}
    for name in _field_names(type(event)):
        data[name] = _plain(getattr(event, name))
    return data


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Person):
        return {name: v for name in _field_names(Person) if (v := getattr(value, name)) is not None}
    if isinstance(value, tuple):
        return list(value)
    return value


def event_from_json(data: dict[str, Any]) -> TicketEvent:
    cls = CLASS_BY_KIND[data["kind"]]
    hints = _hints(cls)
    values = {name: _typed(hints[name], data[name]) for name in hints if name in data}
    return cls(**values)


@cache
def _hints(cls: type) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in typing.get_type_hints(cls).items() if k in names}


def _typed(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    origin = typing.get_origin(hint)
    if origin is tuple:
        return tuple(value)
    if hint is datetime:
        return datetime.fromisoformat(value)
    if hint is Person:
        return Person(**value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    return value
