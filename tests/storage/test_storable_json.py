"""JSON columns keep what PostgreSQL and UTF-8 can store: NUL and lone surrogates become U+FFFD."""

from __future__ import annotations

import json

from storage.tables import storable_json


def test_clean_values_are_stored_as_they_are() -> None:
    value = {"subject": "Où est mon colis ?", "tags": ["vip"], "n": 3}
    assert json.loads(storable_json(value)) == value


def test_nul_and_lone_surrogates_are_replaced_in_keys_and_values() -> None:
    value = {"sub\x00ject": "bad \x00 text \ud800 here", "list": ["\udfff", 1]}
    assert json.loads(storable_json(value)) == {"sub\ufffdject": "bad \ufffd text \ufffd here",
                                                 "list": ["\ufffd", 1]}
    storable_json(value).encode("utf-8")  # no surrogate is left to refuse encoding
