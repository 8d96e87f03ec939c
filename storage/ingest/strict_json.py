"""Strict JSON for webhook bodies (research note §6.3).

Python's json module accepts NaN, Infinity and duplicate keys and nests until the
interpreter's recursion limit; a webhook receiver must refuse all of these.
"""

from __future__ import annotations

import json
from typing import Any

from storage.ingest.adapters.contract import PayloadError

MAX_DEPTH = 64
MAX_NUMBER_DIGITS = 40
_BOM = b"\xef\xbb\xbf"


def _no_constants(name: str) -> Any:
    raise PayloadError("non_finite_number", f"{name} is not a JSON number", status=400)


def _parse_int(text: str) -> int:
    if len(text) > MAX_NUMBER_DIGITS:
        raise PayloadError("number_too_long", f"an integer has more than {MAX_NUMBER_DIGITS} digits", status=400)
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS:
        raise PayloadError("number_too_long", f"a number has more than {MAX_NUMBER_DIGITS} characters", status=400)
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise PayloadError("non_finite_number", "a number is too large to represent", status=400)
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        duplicate = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise PayloadError("duplicate_key", f"the key {duplicate[:80]!r} appears twice in one object", status=400)
    return result


def _check_depth(body: bytes, value: Any) -> None:
    # Nesting needs an opening bracket per level; brackets inside strings only add to the
    # count, so a body with few of them cannot nest too deep, and most bodies skip the walk.
    if body.count(b"{") + body.count(b"[") <= MAX_DEPTH:
        return
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise PayloadError("too_deep", f"the JSON nests deeper than {MAX_DEPTH} levels", status=400)
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values() if isinstance(child, dict | list))
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node if isinstance(child, dict | list))


def parse_json(body: bytes) -> Any:
    """Parse a webhook body or raise `PayloadError` with a short code and one-line detail."""
    if body.startswith(_BOM):
        body = body[len(_BOM):]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError("invalid_encoding", f"the body is not UTF-8 (byte {exc.start})", status=400) from None
    try:
        value = json.loads(text, parse_constant=_no_constants, parse_int=_parse_int,
                           parse_float=_parse_float, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise PayloadError("too_deep", f"the JSON nests deeper than {MAX_DEPTH} levels", status=400) from None
    except json.JSONDecodeError as exc:
        raise PayloadError("malformed_json", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                           status=400) from None
    _check_depth(body, value)
    return value


def parse_checked_json(body: bytes) -> Any:
    """Parse a body that `parse_json` accepted before (when it was received): the checks
    cannot fail again, and the processor reads every stored body once more."""
    try:
        return json.loads(body[len(_BOM):] if body.startswith(_BOM) else body)
    except ValueError:  # not a body that was checked after all: say what is wrong with it
        return parse_json(body)
