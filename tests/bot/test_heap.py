"""deskpulse makes its threads share one glibc heap (bot.runtime.share_one_heap), so the memory a
question's second lane freed serves the next question instead of staying in a heap of its own."""

from __future__ import annotations

import platform

import pytest

from bot.runtime import share_one_heap


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the setting is glibc's malloc's")
def test_glibc_takes_the_one_heap_setting() -> None:
    assert share_one_heap() is True
