"""select's reading and judging, through an archive held only by its protocol.

``Shelf`` is a small in-memory ``archiver.archives.base.Archive``: captures with statuses,
bodies and captured redirects, read without any server. It counts what it was asked, so
the tests pin both what ``choose_memento`` and ``find_best_memento`` choose, with their
reasons, and what they cost. No pywb, no network.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin

import pytest
import requests

from archiver.archives.base import Archive, ArchivedResponse, CapturedRedirect
from archiver.archives.cache import LookupCache
from archiver.config import Settings
from archiver.dates import parse_iso, to_iso
from archiver.models import Memento, Rejection, Selection
from archiver.net.polite import Net
from archiver.select.choose import choose_memento, find_best_memento

CITED = datetime(2018, 11, 28, 23, 59, 59, tzinfo=UTC)
REPORT = "http://news.example/2018/q3-report.html"
MOVED = "http://news.example/2018/moved.html"
FINAL = "http://news.example/2018/q3-final.html"
GONE = "http://news.example/2018/gone.html"
LOOP = "http://news.example/2018/loop.html"


def page(title: str, text: str) -> bytes:
    return f"<html><head><title>{title}</title></head><body><p>{text}</p></body></html>".encode()


@dataclass(frozen=True)
class Capture:
    """One capture on the shelf: the page as captured at ``moment`` (ISO)."""

    url: str
    moment: str
    status: int = 200
    body: bytes = b""
    location: str | None = None  # a captured redirect's Location, as captured

    @property
    def locator(self) -> str:
        return f"shelf:{self.moment}/{self.url}"


@dataclass
class Shelf:
    """An archive in memory, implementing the ``Archive`` protocol."""

    captures: Sequence[Capture]
    spec: str = "shelf"
    listing_kind: str = "list"
    closest_first: bool = False
    verdicts_last: bool = True
    fails_with: int | None = None  # an HTTP status the archive answers every read with
    previous: dict[str, str] = field(default_factory=dict)  # locator -> the one before it
    reads: list[str] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)

    def memento(self, capture: Capture, status: int | None = None) -> Memento:
        return Memento(
            original=capture.url,
            datetime=capture.moment,
            archive=self.spec,
            url=capture.locator,
            raw_url=capture.locator,
            http_status=capture.status if status is None else status,
            mimetype="text/html",
        )

    def _of(self, url: str, near: datetime) -> list[Capture]:
        found = [c for c in self.captures if c.url == url]
        return sorted(found, key=lambda c: abs((parse_iso(c.moment) - near).total_seconds()))

    def find(self, url: str, when: datetime | None, limit: int, net: Net) -> list[Memento]:
        self.lookups.append("find")
        nearest = self._of(url, when or datetime.now(UTC))[:limit]
        return [self.memento(c) for c in sorted(nearest, key=lambda c: c.moment)]

    def closest(self, url: str, when: datetime | None, net: Net) -> Memento | None:
        self.lookups.append("closest")
        nearest = self._of(url, when or datetime.now(UTC))
        return self.memento(nearest[0], status=None) if nearest else None  # status unknown

    def read(self, memento: Memento, net: Net, *, max_bytes: int | None = None) -> ArchivedResponse:
        self.reads.append(memento.raw_url)
        capture = next((c for c in self.captures if c.locator == memento.raw_url), None)
        if self.fails_with is not None or capture is None:
            status = self.fails_with or 404
            return self._answer(memento, status, b"not here", captured=False)
        redirect = None
        if capture.location is not None:
            target = urljoin(capture.url, capture.location)
            following = self._of(target, parse_iso(capture.moment))
            redirect = CapturedRedirect(
                target, None, self.memento(following[0]) if following else None
            )
        served = Memento(**{**memento.to_dict(), "http_status": capture.status})
        response = self._answer(served, capture.status, capture.body, captured=True)
        before = self.previous.get(capture.locator)
        earlier = next((c for c in self.captures if c.locator == before), None)
        return ArchivedResponse(
            **{
                **response.__dict__,
                "redirect": redirect,
                "previous": self.memento(earlier) if earlier else None,
                "datetime": capture.moment,
                "original": capture.url,
            }
        )

    def _answer(
        self, memento: Memento, status: int, body: bytes, *, captured: bool
    ) -> ArchivedResponse:
        return ArchivedResponse(
            memento=memento,
            requested=memento.raw_url,
            url=memento.raw_url,
            status=status,
            reason="",
            http_version="HTTP/1.1",
            headers=(("Content-Type", "text/html; charset=utf-8"),),
            payload=body,
            truncated=False,
            captured=captured,
        )


def at(day: str, time: str = "00:00:00") -> str:
    return f"{day}T{time}Z"


GOOD = Capture(REPORT, at("2018-06-15", "10:30:00"), body=page("Q3 report", "Revenue rose."))
NOT_FOUND = Capture(REPORT, at("2018-10-02"), 404, page("Not Found", "No such page."))
SOFT = Capture(REPORT, at("2018-11-10"), body=page("Page not found", "Try the search."))
HOME = Capture(REPORT, at("2018-11-20"), 302, location="http://news.example/")
LATER = Capture(REPORT, at("2019-01-05"), body=page("Q3 report", "Revenue rose, revised."))
REPORT_LIFE = [GOOD, NOT_FOUND, SOFT, HOME, LATER]


@pytest.fixture
def net() -> Iterator[Net]:
    with requests.Session() as session:  # never used: the shelf sends nothing
        yield Net(session, Settings())


def choose(
    shelf: Shelf, net: Net, listed: Sequence[Memento], *, quote: str | None = None
) -> Selection:
    return choose_memento(listed, CITED, [shelf], net.session, net.settings, quote=quote)


def best(shelf: Shelf, net: Net, url: str, *, cache: LookupCache | None = None) -> Selection:
    archives: list[Archive] = [shelf]
    return find_best_memento(url, CITED, archives, net.session, net.settings, cache=cache)


def reasons(selection: Selection) -> list[tuple[str, str]]:
    return [(r.memento.datetime, r.reason) for r in selection.rejected]


# -- judging one capture at a time -------------------------------------------------------------


def test_every_bad_capture_is_rejected_with_its_reason(net: Net) -> None:
    shelf = Shelf(REPORT_LIFE)
    selection = choose(shelf, net, [shelf.memento(c) for c in REPORT_LIFE])
    assert selection.memento == shelf.memento(GOOD)
    assert selection.reason == "latest capture before 2018-11-28 (2018-06-15)"
    assert reasons(selection) == [
        ("2018-10-02T00:00:00Z", "captured status 404"),
        ("2018-11-10T00:00:00Z", "soft-404: its title says 'Page not found'"),
        ("2018-11-20T00:00:00Z", "captured redirect to the home page (http://news.example/)"),
    ]
    # Closest first; the captured 404 was rejected from the listing, unread.
    assert shelf.reads == [HOME.locator, SOFT.locator, GOOD.locator]


def test_a_captured_redirect_is_followed_to_the_capture_of_its_target(net: Net) -> None:
    moved = Capture(MOVED, at("2018-11-01"), 301, location="/2018/q3-final.html")
    final = Capture(FINAL, at("2018-11-01", "00:00:05"), body=page("Q3 final", "Figures."))
    shelf = Shelf([moved, final])
    selection = choose(shelf, net, [shelf.memento(moved)])
    assert selection.memento == shelf.memento(final)
    assert selection.reason == (
        "latest capture before 2018-11-28 (2018-11-01); its capture redirected to "
        f"{FINAL} (captured 2018-11-01)"
    )
    assert selection.rejected == ()
    assert shelf.reads == [moved.locator, final.locator]


@pytest.mark.parametrize(
    ("captures", "reason"),
    [
        (
            [Capture(MOVED, at("2018-11-01"), 301, location=GONE)],
            f"captured redirect to {GONE}, which is not archived",
        ),
        (
            [
                Capture(MOVED, at("2018-11-01"), 301, location=LOOP),
                Capture(LOOP, at("2018-11-01", "00:00:01"), 302, location=MOVED),
            ],
            f"captured redirect loop through {MOVED}",
        ),
        (
            [
                Capture(MOVED, at("2018-11-01"), 301, location=FINAL),
                Capture(FINAL, at("2018-11-01", "00:00:01"), 410, page("Gone", "Removed.")),
            ],
            f"captured redirect to {FINAL}, whose capture has status 410",
        ),
        (
            [Capture(MOVED, at("2018-11-01"), 301)],
            "captured redirect 301 without a usable Location",
        ),
    ],
    ids=["not-archived", "loop", "target-error", "no-location"],
)
def test_a_captured_redirect_that_leads_nowhere_is_rejected(
    net: Net, captures: list[Capture], reason: str
) -> None:
    shelf = Shelf(captures)
    selection = choose(shelf, net, [shelf.memento(captures[0])])
    assert (selection.memento, selection.reason) == (
        None,
        f"the only capture was rejected ({reason})",
    )


def test_the_archives_own_failure_is_not_remembered(net: Net) -> None:
    shelf = Shelf([GOOD], fails_with=503)
    cache = LookupCache.in_memory()
    selection = choose_memento(
        [shelf.memento(GOOD)], CITED, [shelf], net.session, net.settings, cache=cache
    )
    assert selection.reason == (
        "the only capture was rejected (the archive could not replay it (HTTP 503))"
    )
    assert cache.verdict(GOOD.locator) is None  # asked again next run


def test_a_capture_the_archive_does_not_hold_is_a_lasting_verdict(net: Net) -> None:
    shelf = Shelf([])
    cache = LookupCache.in_memory()
    listed = [Memento(REPORT, at("2018-06-15"), "shelf", "shelf:x", "shelf:x", 200)]
    selection = choose_memento(listed, CITED, [shelf], net.session, net.settings, cache=cache)
    assert selection.reason == (
        "the only capture was rejected (the archive has no capture at its replay URL)"
    )
    verdict = cache.verdict("shelf:x")
    assert verdict is not None and not verdict.accepted


@pytest.mark.parametrize(("lasting", "remembered"), [(True, True), (False, False)])
def test_verdicts_are_kept_only_where_the_archive_says_they_last(
    net: Net, lasting: bool, remembered: bool
) -> None:
    shelf = Shelf([GOOD], verdicts_last=lasting)
    cache = LookupCache.in_memory()
    for _ in range(2):
        choose_memento(
            [shelf.memento(GOOD)], CITED, [shelf], net.session, net.settings, cache=cache
        )
    assert (cache.verdict(GOOD.locator) is not None) is remembered
    assert len(shelf.reads) == (1 if remembered else 2)


def test_the_capture_containing_the_quote_wins_over_a_closer_one(net: Net) -> None:
    quoted = Capture(REPORT, at("2018-03-01"), body=page("R", "The dam is “fully refurbished”."))
    reworded = Capture(REPORT, at("2018-09-01"), body=page("R", "The dam is being repaired."))
    shelf = Shelf([quoted, reworded])
    listed = [shelf.memento(quoted), shelf.memento(reworded)]
    selection = choose(shelf, net, listed, quote='the dam is "fully refurbished"')
    assert selection.memento == shelf.memento(quoted)
    assert selection.reason == (
        "latest capture before 2018-11-28 (2018-03-01); "
        "contains the quoted passage (equivalent, differs in case)"
    )
    assert selection.rejected == (
        Rejection(
            shelf.memento(reworded),
            "holds an altered version of the quoted passage (fully refurbished → being repaired)",
        ),
    )


def test_a_memento_of_an_archive_not_given_is_an_error(net: Net) -> None:
    elsewhere = Memento(REPORT, at("2018-06-15"), "elsewhere", "e:1", "e:1", 200)
    with pytest.raises(ValueError, match="not an archive given"):
        choose(Shelf([]), net, [elsewhere])


# -- finding and choosing, on a budget ---------------------------------------------------------


def test_an_archive_whose_closest_is_cheap_is_asked_for_it_first(net: Net) -> None:
    much_later = Capture(REPORT, at("2019-09-01"), body=page("Q3 report", "Archived later."))
    shelf = Shelf([GOOD, much_later], closest_first=True)
    selection = best(shelf, net, REPORT)
    assert selection.memento == shelf.memento(GOOD)
    assert selection.reason == "latest capture before 2018-11-28 (2018-06-15)"
    assert shelf.lookups == ["closest"]  # settled: nothing could rank ahead of it
    assert shelf.reads == [GOOD.locator]


def test_the_capture_the_archive_names_before_the_closest_spares_a_listing(net: Net) -> None:
    shelf = Shelf([GOOD, LATER], closest_first=True, previous={LATER.locator: GOOD.locator})
    now = datetime(2018, 12, 31, tzinfo=UTC)  # nearer LATER than GOOD
    selection = find_best_memento(REPORT, now, [shelf], net.session, net.settings)
    assert selection.memento == shelf.memento(GOOD)
    assert selection.reason == "latest capture before 2018-12-31 (2018-06-15)"
    assert shelf.lookups == ["closest"]
    assert shelf.reads == [LATER.locator, GOOD.locator]


def test_an_archive_listed_at_no_extra_cost_is_listed_at_once(net: Net) -> None:
    shelf = Shelf(REPORT_LIFE)
    selection = best(shelf, net, REPORT)
    assert selection.memento == shelf.memento(GOOD)
    assert reasons(selection) == [
        ("2018-10-02T00:00:00Z", "captured status 404"),
        ("2018-11-10T00:00:00Z", "soft-404: its title says 'Page not found'"),
        ("2018-11-20T00:00:00Z", "captured redirect to the home page (http://news.example/)"),
    ]
    assert shelf.lookups == ["find"]


def test_a_closest_capture_that_is_rejected_leads_to_the_listing(net: Net) -> None:
    shelf = Shelf(REPORT_LIFE, closest_first=True)
    cache = LookupCache.in_memory()
    selection = best(shelf, net, REPORT, cache=cache)
    assert selection.memento == shelf.memento(GOOD)
    assert shelf.lookups == ["closest", "find"]
    assert shelf.reads == [HOME.locator, SOFT.locator, GOOD.locator]
    # The listing is kept under the archive's own kind; a rerun asks nothing.
    assert cache.lookup("shelf", REPORT, CITED, "list:25") is not None
    again = best(shelf, net, REPORT, cache=cache)
    assert again == selection
    assert (shelf.lookups, len(shelf.reads)) == (["closest", "find"], 3)


def test_nothing_on_the_shelf(net: Net) -> None:
    shelf = Shelf([], closest_first=True)
    selection = best(shelf, net, REPORT)
    assert (selection.memento, selection.reason, selection.rejected) == (
        None,
        "no archive holds a copy",
        (),
    )
    assert (shelf.lookups, shelf.reads) == (["closest"], [])


def test_the_shelf_is_an_archive() -> None:
    archive: Archive = Shelf([])  # what mypy checks; and the datetime stated is ISO
    assert archive.spec == "shelf"
    assert to_iso(parse_iso(GOOD.moment)) == GOOD.moment
