"""Dates and the run's clock (archiver.dates): naive means UTC, and a simulated clock
moves only when slept on."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

from archiver.dates import SYSTEM_CLOCK, RunClock, as_utc, parse_http_date, parse_iso, utcnow


def test_naive_means_utc_and_aware_is_converted() -> None:
    assert as_utc(datetime(2018, 1, 15, 9, 30)) == datetime(2018, 1, 15, 9, 30, tzinfo=UTC)
    paris = timezone(timedelta(hours=1))
    converted = as_utc(datetime(2018, 1, 15, 10, 30, tzinfo=paris))
    assert (converted, converted.tzinfo) == (datetime(2018, 1, 15, 9, 30, tzinfo=UTC), UTC)
    assert parse_iso("2018-01-15T09:30:00") == parse_iso("2018-01-15T10:30:00+01:00")
    assert parse_http_date("Mon, 15 Jan 2018 09:30:00 -0000").tzinfo is UTC


def test_the_system_clock_is_the_machine_s() -> None:
    assert (SYSTEM_CLOCK.now, SYSTEM_CLOCK.sleep, SYSTEM_CLOCK.monotonic) == (
        utcnow,
        time.sleep,
        time.monotonic,
    )
    assert RunClock() == SYSTEM_CLOCK


def test_a_simulated_clock_moves_only_when_slept_on() -> None:
    clock = RunClock.simulated(datetime(2031, 2, 3, 4, 5, 6))  # naive: UTC
    start = clock.monotonic()
    assert clock.now() == clock.now() == datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)
    before = time.monotonic()
    clock.sleep(90.5)
    clock.sleep(-3)  # a negative wait moves nothing back
    assert time.monotonic() - before < 1
    assert clock.now() == datetime(2031, 2, 3, 4, 6, 36, 500000, tzinfo=UTC)
    assert clock.monotonic() - start == 90.5
