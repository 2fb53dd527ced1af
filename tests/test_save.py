"""Save Page Now 2, against the SPN2 stand-in on loopback (archiver.demo.simweb.spn)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from archiver.check.links import check_urls
from archiver.cli.main import cli
from archiver.config import Settings
from archiver.dates import parse_iso, to_iso, to_wayback_timestamp, utcnow
from archiver.demo.simweb.origin import OriginServer, Page
from archiver.demo.simweb.spn import LOGIN_REQUIRED, CapturePlan, SpnServer
from archiver.errors import InputError, NetworkError, NoSuchHost, SetupError
from archiver.save.keys import KEYS_PAGE, MISSING_KEYS, InternetArchiveKeys, load_keys
from archiver.save.results import Quota, SaveResult, SaveStatus
from archiver.save.run import save_checks, save_urls
from archiver.save.spn import validate_within
from tests.conftest import closed_port, sandbox_settings

NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
SECRET = "s3cr3t-Zq8-never-print-me"
ACCESS = "acc3ss-Kp4-never-print-me"
PAGE = "http://news.example/story"


class FakeTime:
    """sleep() and monotonic() for the client: sleeping only moves the clock on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(round(seconds, 6))
            self.now += seconds

    def monotonic(self) -> float:
        with self._lock:
            return self.now


@pytest.fixture
def spn() -> Iterator[SpnServer]:
    with SpnServer(ACCESS, SECRET, clock=lambda: NOW) as server:
        yield server


@pytest.fixture
def keys() -> InternetArchiveKeys:
    return InternetArchiveKeys(ACCESS, SECRET)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def spn_settings(
    origin: OriginServer, spn: SpnServer, tmp_path: Path, **changes: object
) -> Settings:
    defaults: dict[str, object] = {"spn_poll_interval": 3.0, "spn_job_timeout": 180.0}
    return sandbox_settings(
        origin, store=tmp_path / "warcs", spn_endpoint=spn.endpoint, **{**defaults, **changes}
    )


def save(
    urls: list[str], settings: Settings, keys: InternetArchiveKeys, fake_time: FakeTime
) -> tuple[Quota | None, list[SaveResult]]:
    report = save_urls(
        urls,
        settings,
        keys,
        sleep=fake_time.sleep,
        monotonic=fake_time.monotonic,
        clock=lambda: NOW,
    )
    return report.quota, list(report.results)


# -- keys ------------------------------------------------------------------------------


def test_keys_come_from_the_variables_the_ia_tool_reads(tmp_path: Path) -> None:
    env = {"IA_ACCESS_KEY_ID": ACCESS, "IA_SECRET_ACCESS_KEY": SECRET, "HOME": str(tmp_path)}
    keys = load_keys(env)
    assert keys.authorization == f"LOW {ACCESS}:{SECRET}"
    assert keys.source == "IA_ACCESS_KEY_ID/IA_SECRET_ACCESS_KEY"


def test_keys_fall_back_to_the_ia_tool_config_file(tmp_path: Path) -> None:
    config = tmp_path / ".config" / "internetarchive" / "ia.ini"
    config.parent.mkdir(parents=True)
    config.write_text(f"[s3]\naccess = {ACCESS}\nsecret = {SECRET}\n\n[cookies]\n")
    keys = load_keys({"HOME": str(tmp_path)})
    assert keys.authorization == f"LOW {ACCESS}:{SECRET}"
    assert keys.source == str(config)
    # IA_CONFIG_FILE comes first, as for the ia tool; a file without s3 keys is no keys.
    other = tmp_path / "other.ini"
    other.write_text("[general]\nscreenname = someone\n")
    with pytest.raises(SetupError) as raised:
        load_keys({"HOME": str(tmp_path), "IA_CONFIG_FILE": str(other)})
    assert str(raised.value) == MISSING_KEYS


def test_missing_or_half_set_keys_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(SetupError) as raised:
        load_keys({"HOME": str(tmp_path)})
    assert str(raised.value) == (
        "Save Page Now needs Internet Archive keys: set IA_ACCESS_KEY_ID and "
        "IA_SECRET_ACCESS_KEY (get them at https://archive.org/account/s3.php), "
        "or run 'ia configure'"
    )
    with pytest.raises(SetupError) as raised:
        load_keys({"HOME": str(tmp_path), "IA_ACCESS_KEY_ID": ACCESS})
    assert str(raised.value) == (
        "IA_SECRET_ACCESS_KEY is not set: Save Page Now needs both IA_ACCESS_KEY_ID "
        "and IA_SECRET_ACCESS_KEY"
    )
    assert ACCESS not in str(raised.value)


def test_keys_never_show_in_repr_or_str() -> None:
    keys = InternetArchiveKeys(ACCESS, SECRET, "somewhere")
    shown = [repr(keys), str(keys), f"{keys}", f"{keys!r}", repr([keys]), repr({"k": keys})]
    assert all(SECRET not in text and ACCESS not in text for text in shown)
    assert repr(keys) == "InternetArchiveKeys(access=<hidden>, secret=<hidden>, source='somewhere')"
    assert SECRET not in repr(Settings())  # the keys are not settings at all


def test_ages_are_checked_against_spn2_syntax() -> None:
    assert validate_within("30d") == "30d"
    assert validate_within(" 3d  5h 20m ") == "3d 5h 20m"
    assert validate_within("3600") == "3600"
    for bad in ("30 days", "", "-1d", "1w"):
        with pytest.raises(InputError, match="not an age SPN2 understands"):
            validate_within(bad)


# -- saving ------------------------------------------------------------------------------


def test_a_capture_is_polled_until_it_succeeds(
    origin: OriginServer, spn: SpnServer, keys: InternetArchiveKeys, fake_time: FakeTime, tmp_path
) -> None:
    spn.plan(PAGE, CapturePlan(pending_polls=3, duration_sec=16.04))
    settings = spn_settings(origin, spn, tmp_path)
    quota, [result] = save([PAGE], settings, keys, fake_time)
    assert result == SaveResult(
        url=PAGE,
        status=SaveStatus.SAVED,
        message="captured in 16.04s",
        memento_url=f"http://{spn.address}/web/20260501120000/{PAGE}",
        timestamp="2026-05-01T12:00:00Z",
        job_id=result.job_id,
    )
    assert result.job_id is not None and result.job_id.startswith("spn2-")
    assert fake_time.sleeps == [3.0, 3.0, 3.0, 3.0]  # three pending answers, then success
    assert [r.path for r in spn.status_polls()] == [f"/save/status/{result.job_id}"] * 4
    [post] = spn.posts()
    assert post.form == {"url": PAGE, "if_not_archived_within": "30d"}
    assert post.authorization == f"LOW {ACCESS}:{SECRET}"
    assert quota == Quota(
        available=100000, processing=0, daily_captures=0, daily_captures_limit=100000
    )
    assert result.to_dict()["status"] == "saved"


@pytest.mark.parametrize(
    ("within", "status", "timestamp"),
    [
        ("30d", SaveStatus.RECENTLY_ARCHIVED, "2026-04-28T12:00:00Z"),
        ("2d 23h", SaveStatus.SAVED, "2026-05-01T12:00:00Z"),
    ],
)
def test_a_capture_younger_than_the_window_is_reused(
    origin: OriginServer,
    spn: SpnServer,
    keys: InternetArchiveKeys,
    fake_time: FakeTime,
    tmp_path: Path,
    within: str,
    status: SaveStatus,
    timestamp: str,
) -> None:
    spn.add_capture(PAGE, NOW - timedelta(days=3))
    settings = spn_settings(origin, spn, tmp_path, spn_if_not_archived_within=within)
    _, [result] = save([PAGE], settings, keys, fake_time)
    assert (result.status, result.timestamp) == (status, timestamp)
    assert spn.posts()[0].form["if_not_archived_within"] == within
    if status is SaveStatus.RECENTLY_ARCHIVED:
        assert result.message == (
            "The same snapshot had been made 3 days ago. "
            "You can make new capture of this URL after 30d."
        )
        assert result.memento_url == f"http://{spn.address}/web/20260428120000/{PAGE}"


def test_reuse_is_recognised_by_the_capture_time_when_spn2_says_nothing(
    origin: OriginServer, keys: InternetArchiveKeys, fake_time: FakeTime, tmp_path: Path
) -> None:
    with SpnServer(ACCESS, SECRET, clock=lambda: NOW, reuse_message=False) as spn:
        spn.add_capture(PAGE, NOW - timedelta(hours=6))
        _, [result] = save([PAGE], spn_settings(origin, spn, tmp_path), keys, fake_time)
    assert result.status is SaveStatus.RECENTLY_ARCHIVED
    assert result.message == "reused a capture younger than 30d"
    assert result.timestamp == "2026-05-01T06:00:00Z"


def test_refusals_and_failed_jobs_are_reported_with_spn2_codes(
    origin: OriginServer, spn: SpnServer, keys: InternetArchiveKeys, fake_time: FakeTime, tmp_path
) -> None:
    blocked, daily, fine = "http://a.example/blocked", "http://a.example/daily", PAGE
    spn.plan(
        blocked,
        CapturePlan(pending_polls=1, error="error:blocked-url", message="This URL is blocked."),
    )
    spn.plan(
        daily,
        CapturePlan(
            refuse="error:too-many-daily-captures",
            message="This URL has been already captured 10 times today.",
        ),
    )
    settings = spn_settings(origin, spn, tmp_path)
    _, results = save([blocked, daily, fine], settings, keys, fake_time)
    assert [(r.url, r.status, r.error_code, r.message) for r in results] == [
        (blocked, SaveStatus.ERROR, "error:blocked-url", "This URL is blocked."),
        (
            daily,
            SaveStatus.ERROR,
            "error:too-many-daily-captures",
            "This URL has been already captured 10 times today.",
        ),
        (fine, SaveStatus.SAVED, None, "captured in 2.5s"),
    ]
    assert results[0].job_id is not None  # the job ran and failed: its id is kept
    assert results[1].job_id is None  # refused at submission: there was no job


def test_the_daily_quota_is_reported_and_enforced(
    origin: OriginServer, keys: InternetArchiveKeys, fake_time: FakeTime, tmp_path: Path
) -> None:
    with SpnServer(ACCESS, SECRET, clock=lambda: NOW, daily_limit=1) as spn:
        urls = ["http://a.example/1", "http://a.example/2"]
        settings = spn_settings(origin, spn, tmp_path, spn_concurrency=1)
        quota, results = save(urls, settings, keys, fake_time)
    assert quota == Quota(available=1, processing=0, daily_captures=0, daily_captures_limit=1)
    assert quota.describe() == "1 available, 0 processing, 0/1 captures today"
    assert [(r.status, r.error_code) for r in results] == [
        (SaveStatus.SAVED, None),
        (SaveStatus.ERROR, "error:too-many-daily-captures"),
    ]


def test_no_more_than_two_captures_are_in_flight(
    origin: OriginServer, keys: InternetArchiveKeys, tmp_path: Path
) -> None:
    urls = [f"http://a.example/{n}" for n in range(6)]
    with SpnServer(ACCESS, SECRET, session_limit=2, default_plan=CapturePlan(3)) as spn:
        settings = spn_settings(origin, spn, tmp_path, spn_poll_interval=0.02)
        report = save_urls(urls, settings, keys)
    assert [r.status for r in report.results] == [SaveStatus.SAVED] * 6
    assert [r.url for r in report.results] == urls
    assert spn.peak_processing == 2


def test_a_job_still_pending_at_the_timeout_is_reported_with_its_id(
    origin: OriginServer, spn: SpnServer, keys: InternetArchiveKeys, fake_time: FakeTime, tmp_path
) -> None:
    spn.plan(PAGE, CapturePlan(pending_polls=1_000_000))
    settings = spn_settings(origin, spn, tmp_path, spn_poll_interval=3.0, spn_job_timeout=9.0)
    _, [result] = save([PAGE], settings, keys, fake_time)
    assert result.status is SaveStatus.PENDING_TIMEOUT
    assert result.message == "still pending after 9s; the job may still finish"
    assert result.job_id is not None
    assert len(spn.status_polls()) == 3
    assert fake_time.sleeps == [3.0, 3.0, 3.0]


def test_one_retry_after_is_honoured(
    origin: OriginServer, spn: SpnServer, keys: InternetArchiveKeys, fake_time: FakeTime, tmp_path
) -> None:
    spn.throttle(1, retry_after="7")
    _, [result] = save([PAGE], spn_settings(origin, spn, tmp_path), keys, fake_time)
    assert result.status is SaveStatus.SAVED
    assert len(spn.posts()) == 2
    assert fake_time.sleeps[0] == 7.0


def test_a_second_429_stops_all_submissions(
    origin: OriginServer, spn: SpnServer, keys: InternetArchiveKeys, fake_time: FakeTime, tmp_path
) -> None:
    spn.throttle(100, retry_after="2")
    urls = ["http://a.example/1", "http://a.example/2", "http://a.example/3"]
    settings = spn_settings(origin, spn, tmp_path, spn_concurrency=1)
    _, results = save(urls, settings, keys, fake_time)
    reason = (
        "not submitted: Save Page Now refused a request (HTTP 429) again after the 2s pause "
        "it asked for; stopped sending it requests for this run"
    )
    assert [(r.status, r.message) for r in results] == [(SaveStatus.ERROR, reason)] * 3
    assert len(spn.posts()) == 2  # the refused one and its single retry, nothing after
    assert fake_time.sleeps == [2.0]


def test_a_retry_after_longer_than_the_limit_is_not_waited_for(
    origin: OriginServer, spn: SpnServer, keys: InternetArchiveKeys, fake_time: FakeTime, tmp_path
) -> None:
    spn.throttle(1, retry_after="3600")
    _, [result] = save([PAGE], spn_settings(origin, spn, tmp_path), keys, fake_time)
    assert result.status is SaveStatus.ERROR
    assert result.message == (
        "not submitted: Save Page Now refused a request (HTTP 429) and asked for a 3600s "
        "pause, longer than the 30s we wait; try again later"
    )
    assert fake_time.sleeps == []
    assert len(spn.posts()) == 1


def test_a_429_while_polling_stops_polling_and_keeps_the_job_id(
    origin: OriginServer, spn: SpnServer, keys: InternetArchiveKeys, fake_time: FakeTime, tmp_path
) -> None:
    spn.plan(PAGE, CapturePlan(pending_polls=5))
    spn.throttle(2, retry_after="1", methods=("GET",), path_prefix="/save/status/spn2-")
    # the first poll is refused, and so is the one sent after the pause: polling stops
    _, [result] = save([PAGE], spn_settings(origin, spn, tmp_path), keys, fake_time)
    assert result.status is SaveStatus.PENDING_TIMEOUT
    assert result.job_id is not None
    assert result.message == (
        "stopped polling: Save Page Now refused a request (HTTP 429) again after the 1s "
        "pause it asked for; stopped sending it requests for this run; the job may still finish"
    )
    assert len(spn.status_polls()) == 2
    assert fake_time.sleeps == [3.0, 1.0]  # one poll interval, one pause


def test_refused_keys_stop_before_anything_is_submitted(
    origin: OriginServer, spn: SpnServer, fake_time: FakeTime, tmp_path: Path
) -> None:
    wrong = InternetArchiveKeys(ACCESS, "not-the-secret", "IA_ACCESS_KEY_ID/IA_SECRET_ACCESS_KEY")
    with pytest.raises(SetupError) as raised:
        save([PAGE], spn_settings(origin, spn, tmp_path), wrong, fake_time)
    assert str(raised.value) == (
        "Save Page Now refused the keys from IA_ACCESS_KEY_ID/IA_SECRET_ACCESS_KEY "
        f"(HTTP 401): {LOGIN_REQUIRED}"
    )
    assert spn.posts() == []


def test_an_unusable_endpoint_is_one_error(
    origin: OriginServer, keys: InternetArchiveKeys, fake_time: FakeTime, tmp_path: Path
) -> None:
    port = closed_port()
    settings = sandbox_settings(origin, spn_endpoint=f"http://127.0.0.1:{port}/save")
    with pytest.raises(NetworkError) as raised:
        save([PAGE], settings, keys, fake_time)
    assert str(raised.value) == (
        f"Save Page Now at http://127.0.0.1:{port}/save: "
        f"cannot connect to 127.0.0.1:{port} (connection refused)"
    )
    not_spn = sandbox_settings(origin, spn_endpoint=f"http://{origin.address}/save")
    with pytest.raises(NetworkError) as raised:
        save([PAGE], not_spn, keys, fake_time)
    assert str(raised.value) == (
        f"Save Page Now at http://{origin.address}/save does not answer like Save Page Now "
        "(HTTP 421 for /status/user, not JSON)"
    )


def test_an_unknown_endpoint_host_is_no_such_host(
    origin: OriginServer, keys: InternetArchiveKeys, fake_time: FakeTime
) -> None:
    settings = sandbox_settings(origin, spn_endpoint="http://spn.test/save")
    with pytest.raises(NoSuchHost) as raised:
        save([PAGE], settings, keys, fake_time)
    assert str(raised.value) == "Save Page Now at http://spn.test/save: no such host: spn.test"


def test_nothing_to_save_makes_no_request(
    origin: OriginServer, spn: SpnServer, keys: InternetArchiveKeys, fake_time: FakeTime, tmp_path
) -> None:
    quota, results = save([], spn_settings(origin, spn, tmp_path), keys, fake_time)
    assert (quota, results, spn.requests) == (None, [], [])


def test_only_alive_links_are_submitted(
    origin: OriginServer, spn: SpnServer, keys: InternetArchiveKeys, fake_time: FakeTime, tmp_path
) -> None:
    origin.add(PAGE, Page(body="<html><title>Story</title><p>" + "news " * 200 + "</p></html>"))
    gone = "http://news.example/gone"
    settings = spn_settings(origin, spn, tmp_path)
    checks = check_urls([PAGE, gone], settings)
    report = save_checks(
        checks,
        settings,
        keys,
        sleep=fake_time.sleep,
        monotonic=fake_time.monotonic,
        clock=lambda: NOW,
    )
    assert [(r.url, r.status) for r in report.results] == [
        (PAGE, SaveStatus.SAVED),
        (gone, SaveStatus.SKIPPED),
    ]
    assert report.results[1].message == "not submitted: its check says dead (HTTP 404: not found)"
    assert [p.form["url"] for p in spn.posts()] == [PAGE]
    assert not report.all_saved
    assert report.summary() == {
        "saved": 1,
        "recently-archived": 0,
        "error": 0,
        "pending-timeout": 0,
        "skipped": 1,
    }


# -- the command line --------------------------------------------------------------------


@pytest.fixture
def live_spn() -> Iterator[SpnServer]:
    """An SPN2 on the real clock: the command line compares capture times with now."""
    with SpnServer(ACCESS, SECRET) as server:
        yield server


def run_cli(args: list[str], tmp_path: Path, with_keys: bool = True) -> Result:
    env = {
        "HOME": str(tmp_path),  # no ia config file of the machine's user is read
        "XDG_CONFIG_HOME": None,
        "IA_CONFIG_FILE": None,
        "IA_ACCESS_KEY_ID": ACCESS if with_keys else None,
        "IA_SECRET_ACCESS_KEY": SECRET if with_keys else None,
    }
    return CliRunner().invoke(cli, args, env=env)


def cli_args(
    origin: OriginServer, spn: SpnServer | EchoingSpn, tmp_path: Path, *extra: str
) -> list[str]:
    args = ["--store", str(tmp_path / "warcs"), "--spn-endpoint", spn.endpoint]
    for host, address in origin.host_map().items():
        args += ["--resolve", f"{host}={address}"]
    return [*args, "--only-resolved", "--poll-interval", "0.01", *extra]


def live_page(origin: OriginServer, url: str) -> None:
    origin.add(url, Page(body="<html><title>Live</title><p>" + "words " * 200 + "</p></html>"))


def test_cli_save_without_keys_is_one_line_and_sends_nothing(
    origin: OriginServer, live_spn: SpnServer, tmp_path: Path
) -> None:
    live_page(origin, PAGE)
    result = run_cli(
        ["save", PAGE, *cli_args(origin, live_spn, tmp_path)], tmp_path, with_keys=False
    )
    assert result.exit_code == 1
    assert result.stderr == f"archiver: error: {MISSING_KEYS}\n"
    assert result.stdout == ""
    assert live_spn.requests == []
    assert origin.hits == []  # the keys are looked at before the links are checked


def test_cli_save_json(origin: OriginServer, live_spn: SpnServer, tmp_path: Path) -> None:
    live_page(origin, PAGE)
    three_days_ago = utcnow() - timedelta(days=3)
    live_spn.add_capture(PAGE, three_days_ago)
    other = "http://news.example/other"
    live_page(origin, other)
    args = ["save", PAGE, other, *cli_args(origin, live_spn, tmp_path), "--format", "json"]
    result = run_cli(args, tmp_path)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["quota"] == {
        "available": 100000,
        "processing": 0,
        "daily_captures": 0,
        "daily_captures_limit": 100000,
    }
    assert [(r["url"], r["status"]) for r in data["results"]] == [
        (PAGE, "recently-archived"),
        (other, "saved"),
    ]
    assert data["results"][0]["timestamp"] == to_iso(three_days_ago)
    assert abs(parse_iso(data["results"][1]["timestamp"]) - utcnow()) < timedelta(minutes=2)
    assert set(data["results"][0]) == {
        "url",
        "status",
        "message",
        "memento_url",
        "timestamp",
        "job_id",
        "error_code",
    }
    assert data["summary"]["saved"] == 1 and data["summary"]["recently-archived"] == 1


def test_cli_save_article_table_exits_3_when_a_link_was_not_saved(
    origin: OriginServer, live_spn: SpnServer, tmp_path: Path
) -> None:
    live_page(origin, PAGE)
    article = tmp_path / "article.md"
    article.write_text(f"See [the story]({PAGE}) and [the report](http://news.example/gone).\n")
    result = run_cli(["save", str(article), *cli_args(origin, live_spn, tmp_path)], tmp_path)
    assert result.exit_code == 3, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["status", "url", "captured", "memento", "or", "reason"]
    status, url, captured, memento = lines[2].split()
    assert (status, url) == ("saved", PAGE)
    stamp = to_wayback_timestamp(parse_iso(captured))
    assert memento == f"http://{live_spn.address}/web/{stamp}/{PAGE}"
    assert lines[3].startswith("skipped  http://news.example/gone")
    assert lines[-1] == "saved=1, skipped=1"
    assert result.stderr == (
        "Save Page Now quota: 100000 available, 0 processing, 0/100000 captures today\n"
    )


def test_cli_save_rejects_a_bad_age(
    origin: OriginServer, live_spn: SpnServer, tmp_path: Path
) -> None:
    args = [
        "save",
        PAGE,
        *cli_args(origin, live_spn, tmp_path),
        "--if-not-archived-within",
        "a month",
    ]
    result = run_cli(args, tmp_path)
    assert result.exit_code == 1
    assert result.stderr == (
        "archiver: error: not an age SPN2 understands: 'a month' "
        "(examples: '30d', '3d 5h 20m', '3600')\n"
    )


def test_the_secret_is_never_printed(origin: OriginServer, tmp_path: Path) -> None:
    """Every way a save can fail, in every format: the keys appear in no output."""
    live_page(origin, PAGE)
    outputs: list[str] = []
    codes: list[int] = []
    for fmt in ("table", "json"):
        with SpnServer(ACCESS, "another-secret") as refusing:  # our keys are refused
            args = ["save", PAGE, *cli_args(origin, refusing, tmp_path), "--format", fmt]
            refused = run_cli(["--debug", *args], tmp_path)
        with SpnServer(ACCESS, SECRET) as failing:
            failing.plan(PAGE, CapturePlan(error="error:invalid-server-response", message="Bad"))
            failed = run_cli(
                ["save", PAGE, *cli_args(origin, failing, tmp_path), "--format", fmt], tmp_path
            )
        with SpnServer(ACCESS, SECRET) as throttling:
            throttling.throttle(5, retry_after="3600")
            args = ["save", PAGE, *cli_args(origin, throttling, tmp_path), "--format", fmt]
            throttled = run_cli(args, tmp_path)
        gone = f"http://127.0.0.1:{closed_port()}/save"
        args = ["save", PAGE, *cli_args(origin, failing, tmp_path), "--spn-endpoint", gone]
        unreachable = run_cli([*args, "--format", fmt], tmp_path)
        for result in (refused, failed, throttled, unreachable):
            outputs.append(result.stdout + result.stderr)
            codes.append(result.exit_code)
    assert codes == [1, 3, 3, 1] * 2
    assert "refused the keys from IA_ACCESS_KEY_ID/IA_SECRET_ACCESS_KEY (HTTP 401)" in outputs[0]
    for text in outputs:
        assert SECRET not in text
        assert ACCESS not in text
        assert "LOW " not in text


def test_cli_run_save_live(origin: OriginServer, live_spn: SpnServer, tmp_path: Path) -> None:
    live_page(origin, PAGE)
    article = tmp_path / "article.md"
    article.write_text(f"See [the story]({PAGE}).\n")
    args = ["run", str(article), *cli_args(origin, live_spn, tmp_path), "--format", "json"]
    without = run_cli([*args, "--save-live"], tmp_path, with_keys=False)
    assert without.exit_code == 1
    assert without.stderr == f"archiver: error: {MISSING_KEYS}\n"
    result = run_cli([*args, "--save-live"], tmp_path)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    [cited] = data["results"]
    assert cited["saved"]["status"] == "saved"
    stamp = to_wayback_timestamp(parse_iso(cited["saved"]["timestamp"]))
    assert cited["saved"]["memento_url"] == f"http://{live_spn.address}/web/{stamp}/{PAGE}"
    assert data["summary"]["save_saved"] == 1
    assert [p.form["url"] for p in live_spn.posts()] == [PAGE]
    plain = run_cli(args, tmp_path)  # without --save-live nothing is submitted
    assert json.loads(plain.stdout)["results"][0]["saved"] is None
    assert len(live_spn.posts()) == 1


# -- secrets: malformed keys and servers that echo them ---------------------------------


@pytest.mark.parametrize(
    ("access", "secret", "what"),
    [
        ("acc3ss\nKp4", SECRET, "the access key from IA_ACCESS_KEY_ID/IA_SECRET_ACCESS_KEY "
         "contains a line break (character 7)"),
        (ACCESS, "s3cr3t\r\nZq8", "the secret key from IA_ACCESS_KEY_ID/IA_SECRET_ACCESS_KEY "
         "contains a line break (character 7)"),
        (ACCESS, "s3cr3t Zq8", "the secret key from IA_ACCESS_KEY_ID/IA_SECRET_ACCESS_KEY "
         "contains a space (character 7)"),
        (ACCESS, "s3cr3t\x7fZq8", "the secret key from IA_ACCESS_KEY_ID/IA_SECRET_ACCESS_KEY "
         "contains a control character (character 7)"),
        ("acc3ss\u2019Kp4", SECRET, "the access key from IA_ACCESS_KEY_ID/IA_SECRET_ACCESS_KEY "
         "contains a character that is not ASCII (character 7)"),
        ("acc3ss:Kp4", SECRET, "the access key from IA_ACCESS_KEY_ID/IA_SECRET_ACCESS_KEY "
         "contains a colon (character 7), which would end it in the Authorization header"),
    ],
)  # fmt: skip
def test_a_malformed_key_is_refused_without_quoting_it(
    access: str, secret: str, what: str, origin: OriginServer, live_spn: SpnServer, tmp_path: Path
) -> None:
    # Before any request, in one line that names the problem and where the key came from,
    # never the key (requests and http.client quote a bad header value back).
    live_page(origin, PAGE)
    env = {"HOME": str(tmp_path), "IA_ACCESS_KEY_ID": access, "IA_SECRET_ACCESS_KEY": secret}
    expected = f"{what}: a key is one line of printable ASCII; copy it again from {KEYS_PAGE}"
    with pytest.raises(SetupError) as raised:
        load_keys(env)
    assert str(raised.value) == expected
    result = CliRunner().invoke(
        cli, ["--debug", "save", PAGE, *cli_args(origin, live_spn, tmp_path)], env=env
    )
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == f"archiver: error: {expected}\n"
    assert live_spn.requests == []


def test_a_malformed_key_in_the_ia_config_file_is_refused_without_quoting_it(
    tmp_path: Path,
) -> None:
    config = tmp_path / "ia.ini"
    config.write_text(f"[s3]\naccess = {ACCESS}\nsecret = s3cr3t\n  continued-Zq8\n")
    with pytest.raises(SetupError) as raised:
        load_keys({"HOME": str(tmp_path), "IA_CONFIG_FILE": str(config)})
    assert str(raised.value) == (
        f"the secret key from {config} contains a line break (character 7): a key is one "
        f"line of printable ASCII; copy it again from {KEYS_PAGE}"
    )


class EchoingSpn(ThreadingHTTPServer):
    """An SPN2 endpoint that quotes the Authorization header back in its errors: in a
    401 to the quota request (``refuse_keys``), else in a 400 to every submission."""

    def __init__(self, refuse_keys: bool) -> None:
        super().__init__(("127.0.0.1", 0), EchoingHandler)
        self.refuse_keys = refuse_keys

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/save"


class EchoingHandler(BaseHTTPRequestHandler):
    server: EchoingSpn

    def log_message(self, format: str, *args: object) -> None:
        pass

    def answer(self, status: int, data: dict[str, object]) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        sent = self.headers.get("Authorization", "")
        if self.server.refuse_keys:
            self.answer(401, {"message": f"Bad credentials: {sent}"})
        else:
            self.answer(200, {"available": 5, "processing": 0})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        sent = self.headers.get("Authorization", "")
        said = {"status": "error", "status_ext": f"error:bad-header:{sent}"}
        self.answer(400, {**said, "message": f"Cannot parse {sent!r}", sent: sent})


@contextmanager
def echoing_spn(refuse_keys: bool) -> Iterator[EchoingSpn]:
    server = EchoingSpn(refuse_keys)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_keys_the_server_quotes_back_are_hidden(
    origin: OriginServer, keys: InternetArchiveKeys, fake_time: FakeTime, tmp_path: Path
) -> None:
    with echoing_spn(refuse_keys=True) as refusing:
        settings = sandbox_settings(origin, spn_endpoint=refusing.endpoint)
        with pytest.raises(SetupError) as raised:
            save([PAGE], settings, keys, fake_time)
    assert str(raised.value) == (
        "Save Page Now refused the keys from the caller (HTTP 401): "
        "Bad credentials: LOW <hidden>:<hidden>"
    )
    with echoing_spn(refuse_keys=False) as echoing:
        settings = sandbox_settings(origin, spn_endpoint=echoing.endpoint)
        _, [result] = save([PAGE], settings, keys, fake_time)
    assert (result.status, result.message, result.error_code) == (
        SaveStatus.ERROR,
        "Cannot parse 'LOW <hidden>:<hidden>'",
        "error:bad-header:LOW <hidden>:<hidden>",
    )


def test_keys_the_server_quotes_back_are_in_no_output_nor_report(
    origin: OriginServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # what --debug shows: urllib3's requests and more
    live_page(origin, PAGE)
    article = tmp_path / "article.md"
    article.write_text(f"See [the story]({PAGE}).\n")
    texts = []
    for refuse_keys in (True, False):
        with echoing_spn(refuse_keys) as echoing:
            for args in (
                ["save", PAGE, "--format", "json"],
                ["run", str(article), "--save-live", "--format", "json"],
            ):
                common = cli_args(origin, echoing, tmp_path)
                result = run_cli(["--debug", *args, *common], tmp_path)
                assert result.exit_code == (1 if refuse_keys else 3), result.output
                texts.append(result.stdout + result.stderr)
                if args[0] == "run" and not refuse_keys:
                    texts.append((tmp_path / "warcs" / "report.json").read_text())
    assert "Save Page Now refused the keys from IA_ACCESS_KEY_ID/IA_SECRET_ACCESS_KEY " in texts[0]
    assert '"message": "Cannot parse \'LOW <hidden>:<hidden>\'"' in texts[2]
    assert [t for t in texts if SECRET in t or ACCESS in t] == []
    assert '"POST /save HTTP/1.1" 400' in caplog.text
    assert SECRET not in caplog.text and ACCESS not in caplog.text
    stored = b"".join(path.read_bytes() for path in (tmp_path / "warcs").iterdir())
    assert SECRET.encode() not in stored and ACCESS.encode() not in stored


def test_cli_save_on_an_offline_machine_exits_as_check_does(
    live_spn: SpnServer, tmp_path: Path
) -> None:
    # No name resolves, nor the canary: nothing can be checked, so nothing is submitted,
    # and that is "offline" (1), as for check, archive and run, not "not saved" (3).
    args = ["save", PAGE, "--store", str(tmp_path / "warcs"), "--spn-endpoint", live_spn.endpoint]
    result = run_cli([*args, "--only-resolved", "--canary", "http://canary.example/"], tmp_path)
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        "archiver: error: this machine seems to be offline (no link answered, nor "
        "http://canary.example/); nothing was submitted\n"
    )
    assert result.stdout.splitlines()[2].split()[:2] == ["skipped", PAGE]
    assert live_spn.requests == []
