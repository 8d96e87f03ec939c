"""Strict parsing of webhook bodies (research note §6.3)."""

from __future__ import annotations

import pytest

from storage.ingest.adapters.contract import PayloadError
from storage.ingest.strict_json import parse_json


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
