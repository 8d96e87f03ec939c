"""The helpdesk registry: every sibling module with an `ADAPTER` is a helpdesk.

Adding a helpdesk means adding one module here (and its fixtures); nothing else lists them.
"""

from __future__ import annotations

import importlib
import pkgutil

from storage.ingest.adapters.contract import HelpdeskAdapter


def _discover() -> dict[str, HelpdeskAdapter]:
    found: dict[str, HelpdeskAdapter] = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("_") or module.name == "contract":
            continue
        adapter = getattr(importlib.import_module(f"{__name__}.{module.name}"), "ADAPTER", None)
        if not isinstance(adapter, HelpdeskAdapter):
            continue
        if adapter.source in found:
            raise RuntimeError(f"two adapters claim the helpdesk {adapter.source!r}")
        found[adapter.source] = adapter
    return found


ADAPTERS: dict[str, HelpdeskAdapter] = _discover()


def get_adapter(source: str) -> HelpdeskAdapter | None:
    return ADAPTERS.get(source)
