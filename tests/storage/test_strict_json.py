"""Strict parsing of webhook bodies (research note §6.3)."""

from __future__ import annotations

import pytest

from storage.ingest.adapters.contract import PayloadError
from storage.ingest.strict_json import parse_checked_json, parse_json


def test_a_byte_order_mark_is_tolerated_and_ids_stay_as_sent() -> None:
    assert parse_json(b'\xef\xbb\xbf{"id": "0042", "n": 12345678901234567890}') == {
        "id": "0042", "n": 12345678901234567890}


@pytest.mark.parametrize(("raw", "code"), [
    (b"", "malformed_json"), (b"{'a': 1}", "malformed_json"), (b'{"a": -Infinity}', "non_finite_number"),
    (b'{"a": 1e999}', "non_finite_number"), (b'{"a": {"b": 1, "b": 2}}', "duplicate_key"),
    (b"[" * 65 + b"]" * 65, "too_deep"), (b"[" * 5000 + b"]" * 5000, "too_deep"),
    (b'{"a": 1' + b"0" * 45 + b"}", "number_too_long"), (b'"\xc3\x28"', "invalid_encoding"),
])
def test_what_a_webhook_receiver_must_refuse(raw: bytes, code: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_json(raw)
    assert caught.value.code == code and caught.value.status == 400


def test_sixty_four_levels_are_fine() -> None:
    assert parse_json(b"[" * 64 + b"]" * 64) is not None


def test_brackets_inside_strings_are_not_nesting() -> None:
    """The depth check counts brackets first; text full of them must still be accepted."""
    text = "[" * 200 + "{" * 200
    assert parse_json(b'{"body": "%s", "list": [[1]]}' % text.encode()) == {"body": text, "list": [[1]]}


def test_deep_nesting_is_found_among_many_shallow_brackets() -> None:
    shallow = b",".join([b"[]"] * 100)
    with pytest.raises(PayloadError) as caught:
        parse_json(b"[" + shallow + b"," + b"[" * 70 + b"]" * 70 + b"]")
    assert caught.value.code == "too_deep"


def test_a_body_checked_on_arrival_reads_the_same_when_processed() -> None:
    body = b'\xef\xbb\xbf{"id": "0042", "n": 12345678901234567890, "at": 1.5}'
    assert parse_checked_json(body) == parse_json(body)


def test_a_body_that_was_never_checked_still_gets_a_clear_error() -> None:
    with pytest.raises(PayloadError) as caught:
        parse_checked_json(b'{"a": ')
    assert caught.value.code == "malformed_json"
