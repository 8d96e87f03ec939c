"""When an hour is unusual enough to ping a team, and when it is not."""

from __future__ import annotations

import pytest

from metrics.anomaly import growth, judge_count, judge_level, poisson_lower_tail, poisson_upper_tail


def test_a_tuesday_morning_at_two_and_a_half_times_the_usual_volume_is_unusual() -> None:
    verdict = judge_count(98, [38, 42, 40, 41])
    assert verdict.unusual and verdict.usual == 40.5 and verdict.ratio == pytest.approx(2.42, abs=0.01)


def test_two_tickets_at_three_in_the_morning_are_not_an_incident() -> None:
    verdict = judge_count(2, [0, 1, 0, 1])
    assert not verdict.unusual and verdict.why == "too few tickets to judge"


def test_a_small_busy_hour_is_judged_once_it_is_big_enough() -> None:
    assert judge_count(12, [1, 0, 1, 2]).unusual  # usual 1, now 12: clear and large


def test_an_ordinary_wobble_is_not_unusual() -> None:
    assert not judge_count(48, [38, 42, 40, 41]).unusual


def test_growth_is_not_a_spike() -> None:
    # the team doubled over the last weeks: 80 is this Tuesday's usual, not an incident
    assert judge_count(80, [38, 42, 40, 41]).unusual
    assert not judge_count(80, [38, 42, 40, 41], trend=growth(2000, [1000, 980, 1020, 1000])).unusual


def test_a_quiet_hour_that_should_be_busy_is_unusual_too() -> None:
    verdict = judge_count(3, [40, 42, 38, 41])
    assert verdict.unusual and verdict.ratio is not None and verdict.ratio < 0.1


def test_first_response_jumping_from_three_to_ten_minutes_is_unusual() -> None:
    verdict = judge_level(600, 41, [180, 200, 170, 190])
    assert verdict.unusual and verdict.usual == 185


def test_a_median_of_a_handful_of_replies_is_not_judged() -> None:
    assert judge_level(600, 4, [180, 200, 170, 190]).why == "too few measurements to judge"


def test_a_clear_but_small_shift_does_not_wake_anybody() -> None:
    # a very steady baseline makes 4m statistically clear, but 3m -> 4m is not worth a ping
    assert not judge_level(240, 50, [180, 181, 180, 179]).unusual


def test_without_enough_weeks_of_history_nothing_is_judged() -> None:
    assert judge_count(500, [40, 41]).why == "not enough history"


def test_poisson_tails() -> None:
    assert poisson_lower_tail(0, 2.0) == pytest.approx(0.135335, abs=1e-6)  # e^-2
    assert poisson_upper_tail(1, 2.0) == pytest.approx(1 - 0.135335, abs=1e-6)
    assert poisson_lower_tail(2, 2.0) == pytest.approx(0.676676, abs=1e-6)  # e^-2 (1 + 2 + 2)
    assert poisson_upper_tail(5, 2.0) == pytest.approx(1 - 0.947347, abs=1e-6)
    assert 0 < poisson_upper_tail(1300, 1000.0) < 1e-15  # large means stay in range, far tails stay exact
