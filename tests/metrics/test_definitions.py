"""Every metric a user can ask for points at its written definition (docs/metrics.md)."""

from __future__ import annotations

from pathlib import Path

from metrics.catalog import METRICS

DEFINITIONS = Path(__file__).parents[2] / "docs" / "metrics.md"


def test_every_metric_has_a_definition_heading() -> None:
    headings = {line[3:].strip() for line in DEFINITIONS.read_text().splitlines() if line.startswith("## ")}
    missing = {m.name: m.definition for m in METRICS.values() if m.definition not in headings}
    assert not missing
