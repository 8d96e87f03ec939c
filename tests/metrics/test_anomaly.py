"""When an hour is unusual enough to ping a team, and when it is not."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from metrics.anomaly import (
    beta_binomial_lower_tail,
    busier_than_usual,
    detect,
    judge_count,
    judge_level,
    judge_share,
    largest_contribution,
    poisson_lower_tail,
    poisson_upper_tail,
    share_behind,
)


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
    doubled = busier_than_usual([(2000.0, [1000.0, 980.0, 1020.0, 1000.0])] * 6 + [(None, [1000.0] * 4)])
    assert doubled == 2.0 and not judge_count(80, [38, 42, 40, 41], trend=doubled).unusual


def test_one_surge_day_does_not_make_the_team_look_grown() -> None:
    week = [(1000.0, [1000.0] * 4)] * 6 + [(3000.0, [1000.0] * 4)]
    assert busier_than_usual(week) == 1.0


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


def test_csat_falling_twenty_points_is_unusual_a_few_points_is_not() -> None:
    assert judge_level(70.0, 120, [90.0, 88.0, 91.0, 89.0], share=True).unusual
    assert not judge_level(84.0, 120, [90.0, 88.0, 91.0, 89.0], share=True).unusual  # 5 points: not worth a ping
    assert not judge_level(75.0, 12, [100.0, 86.0, 100.0, 100.0], share=True).unusual  # 9 of 12: could be luck


def test_csat_is_judged_against_the_earlier_weeks_ratings_pooled() -> None:
    # 70% of 80 ratings against four weeks that gave 90% of 320: one week at 80% does not excuse it
    verdict = judge_share(70.0, 80, [(90.0, 80), (80.0, 80), (95.0, 80), (95.0, 80)])
    assert verdict.unusual and verdict.usual == 90.0
    assert not judge_share(70.0, 40, [(90.0, 80), (80.0, 80), (95.0, 80), (95.0, 80)]).unusual  # 28 of 40: maybe luck


def test_a_usual_share_resting_on_a_few_ratings_is_no_certainty() -> None:
    # 6 good of 11 at night against 4 quiet weeks of 8 ratings, all good: unlucky, not an incident
    assert not judge_share(54.5, 11, [(100.0, 8)] * 4).unusual
    assert judge_share(54.5, 11, [(100.0, 8)] * 4).why == "too few measurements to judge"
    assert not judge_share(72.0, 25, [(100.0, 8)] * 4).unusual  # 18 of 25 against 32 good of 32
    assert judge_share(72.0, 25, [(100.0, 200)] * 4).unusual  # against 800 good of 800 it is


def test_beta_binomial_tail() -> None:
    assert beta_binomial_lower_tail(3, 10, 1.0, 1.0) == pytest.approx(4 / 11)  # a uniform share: every count alike
    assert beta_binomial_lower_tail(10, 10, 2.0, 3.0) == 1.0 and beta_binomial_lower_tail(-1, 10, 2.0, 3.0) == 0.0
    # known shares make it binomial: P(X <= 28) for Binomial(40, 0.9) is 0.00038
    assert beta_binomial_lower_tail(28, 40, 9e6, 1e6) == pytest.approx(0.000381, abs=2e-6)


def test_the_agent_driving_a_change_is_the_one_whose_tickets_pulled_the_team_furthest() -> None:
    # first response, usual 3m: Ben's 20 tickets at 15m weigh more than Cy's 2 at 40m
    slower = {"ana": (180.0, 20.0), "ben": (900.0, 20.0), "cy": (2400.0, 2.0)}
    assert largest_contribution(slower, 180.0, 1.0) == "ben"
    # CSAT, usual 90%: Cy's 40 ratings at 80% miss 4 good ones, Ben's 10 at 60% miss 3
    lower = {"ana": (95.0, 20.0), "ben": (60.0, 10.0), "cy": (80.0, 40.0)}
    assert largest_contribution(lower, 90.0, -1.0) == "cy"
    assert largest_contribution({"ana": (95.0, 20.0), "ben": (None, 0.0)}, 90.0, -1.0) is None  # nobody pulled down


BERLIN = ZoneInfo("Europe/Berlin")
HOUR = timedelta(hours=1)
WEEKS = 10


def hourly(value: Callable[[datetime], float], *, weeks: int = WEEKS) -> tuple[list[datetime], list[float]]:
    stamps = [datetime(2026, 9, 7, tzinfo=BERLIN) + (i + 1) * HOUR for i in range(weeks * 7 * 24)]
    return stamps, [value(t) for t in stamps]


def office(t: datetime) -> bool:
    return t.weekday() < 5 and 9 <= (t - HOUR).hour < 17


def test_detect_raises_one_alert_when_first_response_jumps_in_office_hours() -> None:
    shift = datetime(2026, 11, 10, 10, 0, tzinfo=BERLIN)  # a Tuesday, four hours
    stamps, frt = hourly(lambda t: 600.0 if shift < t <= shift + 4 * HOUR else 180.0 + (t.hour % 3))
    support = [120.0 if office(t) else 3.0 for t in stamps]
    alerts = detect(stamps, frt, metric="frt_median", direction="up", support=support, freq=HOUR)
    assert alerts == [shift + HOUR]  # at the end of the first bad hour, once for the whole incident


def test_detect_stays_quiet_at_night_on_holidays_and_when_it_gets_better() -> None:
    holiday = datetime(2026, 11, 11, tzinfo=BERLIN).date()

    def volume(t: datetime) -> float:
        if t.date() == holiday:
            return 5.0  # a holiday is quiet
        if not office(t):
            return 2.0 if t.day % 2 else 0.0  # nights with a ticket or two, or none
        return 100.0

    stamps, counts = hourly(volume)
    assert detect(stamps, counts, metric="volume", direction="both", holidays=[holiday], freq=HOUR) == []
    better = [90.0 if office(t) and t.month == 11 and t.day > 15 else 180.0 for t in stamps]
    assert detect(stamps, better, metric="frt_median", direction="up", support=[100.0] * len(stamps),
                  freq=HOUR) == []


def test_detect_needs_no_support_and_ignores_missing_buckets() -> None:
    stamps, values = hourly(lambda t: 40.0)
    values[-5:] = [None, float("nan"), 120.0, 130.0, 40.0]  # type: ignore[list-item]
    alerts = detect(stamps, values, metric="volume", direction="up", freq=HOUR, warmup_end=stamps[-10])
    assert alerts == [stamps[-3]]


def ratings_per_hour(t: datetime, small: float) -> float:
    return small if office(t) else 0.0


def test_detect_sees_a_small_teams_csat_fall_once_enough_ratings_hold_it() -> None:
    # 8 ratings an office hour; a release sours them from about 89% to 60% on the last Tuesday, 09:00-17:00
    bad_from = datetime(2026, 11, 10, 9, 0, tzinfo=BERLIN)

    def csat(t: datetime) -> float:
        return 60.0 if bad_from < t <= bad_from + 8 * HOUR else 90.0 if t.hour % 2 else 88.0

    stamps, values = hourly(csat)
    support = [ratings_per_hour(t, 8.0) for t in stamps]
    alerts = detect(stamps, values, metric="csat", direction="down", support=support, freq=HOUR)
    assert alerts == [bad_from + 5 * HOUR]  # the 6-hour window's 40 ratings tell it; one hour's 8 could be luck
    assert share_behind(stamps, values, support, alerts[0], freq=HOUR) == (6 * HOUR, 60.0, 40)
    assert share_behind(stamps, values, support, bad_from, freq=HOUR) is None  # nothing unusual before it


def test_detect_sees_a_busy_teams_csat_fall_within_the_hour() -> None:
    # 100 ratings an office hour: 70 good in the first bad hour against 90 is no luck
    bad_from = datetime(2026, 11, 10, 9, 0, tzinfo=BERLIN)
    stamps, values = hourly(lambda t: 70.0 if bad_from < t <= bad_from + 8 * HOUR else 90.0)
    support = [ratings_per_hour(t, 100.0) for t in stamps]
    assert detect(stamps, values, metric="csat", direction="down", support=support, freq=HOUR) == [bad_from + HOUR]
    better = [95.0 if bad_from < t <= bad_from + 8 * HOUR else 80.0 for t in stamps]
    assert detect(stamps, better, metric="csat", direction="down", support=support, freq=HOUR) == []
