"""Reading ``Retry-After``, and the one rule on how long a pause we wait out."""

from __future__ import annotations

from datetime import UTC, datetime

from archiver.net.retry_after import parse_retry_after, pause_within


def test_retry_after_forms() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("whenever") is None
    assert parse_retry_after(None) is None


def test_a_pause_is_waited_out_only_up_to_the_limit() -> None:
    assert pause_within(7.0, 30.0) == 7.0
    assert pause_within(30.0, 30.0) == 30.0
    assert pause_within(31.0, 30.0) is None
    assert pause_within(None, 30.0) is None  # nothing asked: nothing to wait for
    assert pause_within(None, 30.0, default=10.0) == 10.0
    assert pause_within(3600.0, 30.0, default=10.0) is None
