"""choose_memento / find_best_memento: reading archived bodies, on a budget, with a cache.

A real pywb serves a fixture WARC whose captures break every rule a capture can break
(a captured 404, a soft-404, a redirect to the home page, a redirect to a moved page,
a page that changed its wording). Archive calls are counted with a ``requests`` response
hook on the session: it observes what was sent, it replaces nothing.

The Internet Archive behaviours pywb does not have (``Link: prev memento``, Location
headers rewritten into the archive, 429 with Retry-After) are played by an OriginServer
standing in for web.archive.org on loopback.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from archiver.archives.cache import SETTLED_AFTER, ContentVerdict, LookupCache, PassageMatch
from archiver.archives.specs import parse_archive_spec
from archiver.archives.wayback import WaybackArchive, find_closest_by_replay, parse_replay_url
from archiver.config import Settings
from archiver.demo.simweb.origin import OriginServer, Page
from archiver.demo.simweb.wayback import FixtureCapture, WaybackServer, payload_digest
from archiver.errors import NetworkError
from archiver.models import Memento, Rejection, Selection
from archiver.net.http import build_session
from archiver.net.polite import CdxRateLimiter
from archiver.select.choose import choose_memento, find_best_memento
from archiver.state import State
from tests.conftest import archive_settings, running_wayback


def wayback_archive(spec: str) -> WaybackArchive:
    archive = parse_archive_spec(spec)
    assert isinstance(archive, WaybackArchive)
    return archive


CITED = datetime(2018, 11, 28, 23, 59, 59, tzinfo=UTC)
ARCHIVE = wayback_archive("wayback:http://archive.test/web/")

REPORT = "http://news.example/2018/q3-report.html"  # every way a capture can be wrong
MOVED = "http://news.example/2018/moved.html"  # a captured redirect to a moved page
FINAL = "http://news.example/2018/q3-final.html"
NOTICE = "http://gov.example/tenders/2018-044"  # reworded after the author quoted it
LATE = "http://news.example/2018/late.html"  # archived only after the citation
SOFT = "http://news.example/2018/flaky.html"  # many soft-404s before one good capture
NEVER = "http://news.example/never-archived"
SCHEME = "http://news.example/2018/scheme.html"  # a captured redirect to its https twin
DIRECTORY = "http://news.example/2018/dir"  # a captured redirect adding a trailing slash
DAM = "http://gov.example/dam"  # a year the article misquotes
CAFE = "http://fr.example/cafe"  # windows-1252, as its header says
HIDDEN = "http://news.example/2018/hidden.html"  # the quote hidden from readers, then shown

QUOTE = "a distributed network of flood, air-quality and pedestrian-flow sensors"


def page(title: str, text: str) -> bytes:
    head = f"<!doctype html><html><head><title>{title}</title></head>"
    return f"{head}<body><h1>{title}</h1><p>{text}</p></body></html>".encode()


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


GOOD_REPORT = page("Q3 report", "Revenue rose. The project is halfway built and fully financed.")
CAPTURES = [
    FixtureCapture(REPORT, at(2018, 6, 15, 10, 30), body=GOOD_REPORT),
    FixtureCapture(REPORT, at(2018, 10, 2, 14), 404, page("Not Found", "No such page.")),
    FixtureCapture(REPORT, at(2018, 11, 10, 9), body=page("Page not found", "Try the search.")),
    FixtureCapture(
        REPORT, at(2018, 11, 20, 9), 302, headers=[("Location", "http://news.example/")]
    ),
    FixtureCapture(REPORT, at(2019, 1, 5), body=page("Q3 report", "The project is halfway built.")),
    FixtureCapture(MOVED, at(2018, 5, 1), body=page("Draft", "An early draft.")),
    FixtureCapture(MOVED, at(2018, 11, 1), 301, headers=[("Location", "/2018/q3-final.html")]),
    FixtureCapture(FINAL, at(2018, 11, 1, 0, 0, 5), body=page("Q3 final", "Final figures.")),
    FixtureCapture(
        NOTICE,
        at(2018, 3, 1),
        body=page(
            "Tender 2018-044",
            "The council wants &ldquo;a <em>distributed</em> network of flood, air&#8209;quality "
            "and pedestrian-flow\n   sensors&rdquo; covering the promenade.",
        ),
    ),
    FixtureCapture(
        NOTICE, at(2018, 9, 1), body=page("Tender 2018-044", "The council wants flood sensors.")
    ),
    FixtureCapture(NOTICE, at(2019, 1, 1), body=page("Tender 2018-044 (closed)", "Closed.")),
    FixtureCapture(LATE, at(2019, 2, 1), body=page("Late", "Archived after the citation.")),
    FixtureCapture(
        SCHEME, at(2018, 6, 1), 301, headers=[("Location", SCHEME.replace("http:", "https:"))]
    ),
    FixtureCapture(
        SCHEME.replace("http:", "https:"), at(2018, 6, 1, 0, 0, 2), body=page("S", "Secure.")
    ),
    FixtureCapture(DIRECTORY, at(2018, 6, 1), 301, headers=[("Location", DIRECTORY + "/")]),
    FixtureCapture(DIRECTORY + "/", at(2018, 6, 1, 0, 0, 1), body=page("D", "Directory.")),
    FixtureCapture(SOFT, at(2018, 1, 1), body=page("Flaky", "The real page.")),
    *[
        FixtureCapture(SOFT, at(2018, 11, day), body=page("404 - Page Not Found", "Gone."))
        for day in (1, 5, 10, 15, 20)
    ],
    FixtureCapture(
        DAM, at(2018, 6, 1), body=page("Dam", "The dam was fully refurbished in 1998, on time.")
    ),
    FixtureCapture(
        CAFE,
        at(2018, 6, 1),
        body=page("Café", "Le café “Müller” a rouvert ses portes en 1998 — enfin.").replace(
            b"<!doctype html>", b""
        ),
        content_type="text/html; charset=utf-8",
    ),
    FixtureCapture(
        CAFE,
        at(2018, 3, 1),
        body=page("Café", "Le café “Müller” a rouvert ses portes en 1998 — enfin.")
        .decode()
        .encode("cp1252"),
        content_type="text/html; charset=windows-1252",
    ),
    FixtureCapture(
        HIDDEN,
        at(2018, 9, 1),
        body=page(
            "Hidden",
            'The new page. <div style="display: none">The old page said the bridge '
            "will reopen in the spring of 2019.</div>",
        ),
    ),
    FixtureCapture(
        HIDDEN,
        at(2018, 3, 1),
        body=page("Shown", "The bridge will reopen in the spring of 2019."),
    ),
]


@pytest.fixture(scope="module")
def wayback(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WaybackServer]:
    with running_wayback(tmp_path_factory.mktemp("wayback"), CAPTURES) as server:
        yield server


@pytest.fixture(scope="module")
def settings(wayback: WaybackServer) -> Settings:
    return archive_settings({"archive.test": wayback})


class ArchiveCalls:
    """Every request a session sends, seen through a response hook."""

    def __init__(self, session: requests.Session) -> None:
        self.urls: list[str] = []
        session.hooks["response"].append(self._seen)

    def _seen(self, response: requests.Response, *args: object, **kwargs: object) -> None:
        self.urls.append(response.url)

    @property
    def cdx(self) -> list[str]:
        return [u for u in self.urls if "/cdx?" in u]

    @property
    def replay(self) -> list[str]:
        return [u for u in self.urls if "/cdx?" not in u]


def best(
    url: str,
    settings: Settings,
    cache: LookupCache,
    *,
    quote: str | None = None,
    when: datetime | None = CITED,
    max_inspected: int = 5,
) -> tuple[Selection, ArchiveCalls]:
    with build_session(settings) as session:
        calls = ArchiveCalls(session)
        selection = find_best_memento(
            url,
            when,
            [ARCHIVE],
            session,
            settings,
            quote=quote,
            cache=cache,
            max_inspected=max_inspected,
        )
    return selection, calls


def raw(timestamp: str, url: str) -> str:
    return f"http://archive.test/web/{timestamp}id_/{url}"


def closest_lookup(url: str, when: str = "20181128235959") -> str:
    return raw(when, url)


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[LookupCache]:
    with State(tmp_path / "state.sqlite") as state:
        yield LookupCache(state)


def summary(selection: Selection) -> list[tuple[str, str]]:
    return [(r.memento.datetime, r.reason) for r in selection.rejected]


# -- the rules, one capture at a time --------------------------------------------------------


def test_every_bad_capture_is_rejected_with_its_reason(
    settings: Settings, cache: LookupCache
) -> None:
    selection, calls = best(REPORT, settings, cache)
    assert selection.memento is not None
    assert (selection.memento.datetime, selection.memento.http_status) == (
        "2018-06-15T10:30:00Z",
        200,
    )
    assert selection.memento.raw_url == raw("20180615103000", REPORT)
    assert selection.memento.digest == payload_digest(GOOD_REPORT)  # kept from the CDX listing
    assert selection.reason == "latest capture before 2018-11-28 (2018-06-15)"
    assert summary(selection) == [
        ("2018-10-02T14:00:00Z", "captured status 404"),
        ("2018-11-10T09:00:00Z", "soft-404: its title says 'Page not found'"),
        ("2018-11-20T09:00:00Z", "captured redirect to the home page (http://news.example/)"),
    ]
    # The closest capture (the redirect) was found through replay and rejected, so one
    # CDX query listed the rest; the captured 404 was rejected from the listing, unread.
    assert calls.urls == [
        closest_lookup(REPORT),
        raw("20181120090000", REPORT),
        calls.cdx[0],
        raw("20181110090000", REPORT),
        raw("20180615103000", REPORT),
    ]
    assert len(calls.cdx) == 1


def test_a_captured_redirect_to_a_moved_page_is_followed_without_cdx(
    settings: Settings, cache: LookupCache
) -> None:
    selection, calls = best(MOVED, settings, cache)
    assert selection.memento == Memento(
        original=FINAL,
        datetime="2018-11-01T00:00:05Z",
        archive=ARCHIVE.spec,
        url=f"http://archive.test/web/20181101000005/{FINAL}",
        raw_url=raw("20181101000005", FINAL),
        http_status=200,
        mimetype="text/html",
    )
    assert selection.reason == (
        "latest capture before 2018-11-28 (2018-11-01); its capture redirected to "
        f"{FINAL} (captured 2018-11-01)"
    )
    assert selection.rejected == ()
    assert calls.urls == [
        closest_lookup(MOVED),
        raw("20181101000000", MOVED),  # the captured 301
        raw("20181101000000", FINAL),  # pywb redirects to the target's closest capture
        raw("20181101000005", FINAL),
    ]
    assert calls.cdx == []


@pytest.mark.parametrize(
    ("url", "target", "captured"),
    [
        (SCHEME, SCHEME.replace("http:", "https:"), "20180601000002"),
        (DIRECTORY, DIRECTORY + "/", "20180601000001"),
    ],
    ids=["http-to-https", "trailing-slash"],
)
def test_redirects_to_the_same_page_under_another_address(
    settings: Settings, cache: LookupCache, url: str, target: str, captured: str
) -> None:
    # pywb resolves these by itself when asked for the closest capture...
    selection, calls = best(url, settings, cache)
    assert selection.memento is not None
    assert selection.memento.raw_url == raw(captured, target)
    assert selection.reason == "latest capture before 2018-11-28 (2018-06-01)"
    assert calls.cdx == []
    # ... and choose_memento follows them when a listing names the redirect itself.
    listed = Memento(
        original=url,
        datetime="2018-06-01T00:00:00Z",
        archive=ARCHIVE.spec,
        url=f"http://archive.test/web/20180601000000/{url}",
        raw_url=raw("20180601000000", url),
        http_status=301,
    )
    with build_session(settings) as session:
        chosen = choose_memento([listed], CITED, [ARCHIVE], session, settings, cache=cache)
    assert chosen.memento is not None
    assert chosen.memento.raw_url == raw(captured, target)
    assert chosen.reason == (
        f"latest capture before 2018-11-28 (2018-06-01); its capture redirected to {target} "
        "(captured 2018-06-01)"
    )


def test_closest_capture_after_the_date_needs_cdx_to_rule_out_earlier_ones(
    settings: Settings, cache: LookupCache
) -> None:
    selection, calls = best(LATE, settings, cache)
    assert selection.memento is not None
    assert selection.memento.datetime == "2019-02-01T00:00:00Z"
    assert selection.reason == "no capture before 2018-11-28; earliest after it (2019-02-01)"
    # pywb sends no "prev memento" link, so only the CDX listing can say nothing is earlier.
    assert (len(calls.replay), len(calls.cdx)) == (2, 1)


def test_nothing_archived_costs_one_replay_request(settings: Settings, cache: LookupCache) -> None:
    selection, calls = best(NEVER, settings, cache)
    assert (selection.memento, selection.reason, selection.rejected) == (
        None,
        "no archive holds a copy",
        (),
    )
    assert calls.urls == [closest_lookup(NEVER)]


def test_work_is_bounded_by_max_inspected(settings: Settings, cache: LookupCache) -> None:
    selection, calls = best(SOFT, settings, cache, max_inspected=3)
    assert selection.memento is None
    assert selection.reason == (
        "the 3 closest were rejected; 3 more were not inspected (at most 3 are read)"
    )
    assert [d for d, _ in summary(selection)] == [
        "2018-11-10T00:00:00Z",
        "2018-11-15T00:00:00Z",
        "2018-11-20T00:00:00Z",
    ]
    assert {r for _, r in summary(selection)} == {"soft-404: its title says '404 - Page Not Found'"}
    assert len(calls.replay) == 1 + 3  # the closest lookup, then three bodies


def test_the_default_bound_is_five_bodies(settings: Settings, cache: LookupCache) -> None:
    selection, calls = best(SOFT, settings, cache)
    assert selection.reason == (
        "the 5 closest were rejected; 1 more was not inspected (at most 5 are read)"
    )
    assert len(calls.replay) == 1 + 5
    wider, calls = best(SOFT, settings, cache, max_inspected=6)
    assert wider.memento is not None
    assert wider.memento.datetime == "2018-01-01T00:00:00Z"
    assert len(wider.rejected) == 5
    assert len(calls.replay) == 1  # the five verdicts were cached; only the sixth is read


# -- quoted passages ----------------------------------------------------------------------


def test_the_capture_containing_the_quote_wins_over_a_closer_one(
    settings: Settings, cache: LookupCache
) -> None:
    # Curly quotes, markup, an entity hyphen and line breaks in the source; case and
    # spacing in the quote: none of it matters.
    quote = "A distributed network of flood, air-quality and  pedestrian-flow sensors"
    selection, calls = best(NOTICE, settings, cache, quote=quote)
    assert selection.memento is not None
    assert selection.memento.datetime == "2018-03-01T00:00:00Z"
    assert selection.reason == (
        "latest capture before 2018-11-28 (2018-03-01); "
        "contains the quoted passage (equivalent, differs in case)"
    )
    assert summary(selection) == [
        ("2018-09-01T00:00:00Z", "does not contain the quoted passage (not-found)")
    ]
    assert len(calls.cdx) == 1


def test_a_misspelt_word_is_an_altered_passage_not_the_quote(
    settings: Settings, cache: LookupCache
) -> None:
    # The fuzzy matcher this replaced said "contains the quoted passage approximately (97%)".
    misquoted = "a distributed network of flood, air quality and pedestrain-flow sensors"
    selection, _ = best(NOTICE, settings, cache, quote=misquoted)
    assert selection.memento is not None
    assert selection.memento.datetime == "2018-03-01T00:00:00Z"  # closer to it than 09-01
    assert selection.reason == (
        "latest capture before 2018-11-28 (2018-03-01); "
        "holds an altered version of the quoted passage (pedestrain → pedestrian)"
    )
    assert summary(selection) == [
        ("2018-09-01T00:00:00Z", "does not contain the quoted passage (not-found)")
    ]


def test_a_misquoted_year_never_counts_as_containing_the_quote(
    settings: Settings, cache: LookupCache
) -> None:
    selection, _ = best(DAM, settings, cache, quote="The dam was fully refurbished in 1999")
    assert selection.memento is not None  # still the copy of the cited page
    assert selection.reason == (
        "latest capture before 2018-11-28 (2018-06-01); "
        "holds an altered version of the quoted passage (1999 → 1998)"
    )
    assert "contains" not in selection.reason
    assert selection.quote_verdict == "altered"  # the same, for tools
    right, _ = best(DAM, settings, cache, quote="The dam was fully refurbished in 1998")
    assert right.reason.endswith("; contains the quoted passage (verbatim)")
    assert right.quote_verdict == "verbatim"
    unquoted, _ = best(DAM, settings, cache)
    assert unquoted.quote_verdict is None


def test_a_page_in_windows_1252_holds_the_quote_in_its_own_charset(
    settings: Settings, cache: LookupCache
) -> None:
    # The closest capture is the windows-1252 one (a later one is UTF-8): read as UTF-8,
    # its accents and curly quotes were lost and a later capture was preferred.
    quote = "Le café “Müller” a rouvert ses portes en 1998"
    selection, _ = best(CAFE, settings, cache, quote=quote, when=at(2018, 4, 1))
    assert selection.memento is not None
    assert selection.memento.datetime == "2018-03-01T00:00:00Z"
    assert selection.reason == (
        "latest capture before 2018-04-01 (2018-03-01); contains the quoted passage (verbatim)"
    )
    assert selection.quote_verdict == "verbatim"
    assert selection.rejected == ()


def test_a_quote_hidden_from_readers_is_not_in_the_capture(
    settings: Settings, cache: LookupCache
) -> None:
    quote = "the bridge will reopen in the spring of 2019"
    selection, _ = best(HIDDEN, settings, cache, quote=quote)
    assert selection.memento is not None
    assert selection.memento.datetime == "2018-03-01T00:00:00Z"
    assert selection.reason == (
        "latest capture before 2018-11-28 (2018-03-01); "
        "contains the quoted passage (equivalent, differs in case)"
    )
    assert summary(selection) == [
        ("2018-09-01T00:00:00Z", "does not contain the quoted passage (not-found)")
    ]


def test_quote_in_no_capture_takes_the_closest_usable_one_with_a_note(
    settings: Settings, cache: LookupCache
) -> None:
    selection, calls = best(NOTICE, settings, cache, quote="sensors that never existed anywhere")
    assert selection.memento is not None
    assert selection.memento.datetime == "2018-09-01T00:00:00Z"
    assert selection.reason == (
        "latest capture before 2018-11-28 (2018-09-01); "
        "the quoted passage is in no capture read (not-found)"
    )
    assert selection.quote_verdict == "not-found"
    assert selection.rejected == ()
    # All three captures were read looking for the passage.
    assert sorted(calls.replay[1:]) == sorted(
        raw(ts, NOTICE) for ts in ("20180301000000", "20180901000000", "20190101000000")
    )


def test_choose_memento_over_given_mementos(settings: Settings, cache: LookupCache) -> None:
    with build_session(settings) as session:
        listed = [
            Memento(
                original=REPORT,
                datetime=d,
                archive=ARCHIVE.spec,
                url=f"http://archive.test/web/{ts}/{REPORT}",
                raw_url=raw(ts, REPORT),
                http_status=None,  # as a TimeMap lists them: status unknown until read
            )
            for d, ts in [
                ("2018-06-15T10:30:00Z", "20180615103000"),
                ("2018-11-10T09:00:00Z", "20181110090000"),
            ]
        ]
        selection = choose_memento(listed, CITED, [ARCHIVE], session, settings, cache=cache)
    assert selection.memento == Memento(
        original=REPORT,
        datetime="2018-06-15T10:30:00Z",
        archive=ARCHIVE.spec,
        url=f"http://archive.test/web/20180615103000/{REPORT}",
        raw_url=raw("20180615103000", REPORT),
        http_status=200,  # what the replay showed
        mimetype="text/html",
    )
    assert selection.rejected == (
        Rejection(listed[1], "soft-404: its title says 'Page not found'"),
    )


# -- the cache ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "quote"),
    [
        (REPORT, None),
        (MOVED, None),
        (NOTICE, QUOTE),
        (DAM, "The dam was fully refurbished in 1999"),
        (LATE, None),
        (SOFT, None),
    ],
    ids=["cdx-path", "redirect", "quote", "altered-quote", "after-date", "soft-404s"],
)
def test_a_warm_cache_makes_no_archive_calls(
    settings: Settings, tmp_path: Path, url: str, quote: str | None
) -> None:
    path = tmp_path / "state.sqlite"
    with State(path) as state:
        cold, cold_calls = best(url, settings, LookupCache(state), quote=quote)
    with State(path) as state:  # a later run: a new process opens the same state file
        warm, warm_calls = best(url, settings, LookupCache(state), quote=quote)
    assert cold_calls.urls  # the cold run did ask the archive
    assert warm_calls.urls == []
    assert warm == cold


def test_a_lookup_that_found_nothing_is_redone_after_a_day(
    settings: Settings, tmp_path: Path
) -> None:
    now = [datetime(2026, 3, 1, tzinfo=UTC)]
    with State(tmp_path / "state.sqlite") as state:
        cache = LookupCache(state, clock=lambda: now[0])
        requests_made = []
        for later in (timedelta(0), timedelta(hours=23), timedelta(hours=25)):
            now[0] = datetime(2026, 3, 1, tzinfo=UTC) + later
            _, calls = best(NEVER, settings, cache)
            requests_made.append(len(calls.urls))
    assert requests_made == [1, 0, 1]


def test_a_settled_lookup_is_kept_for_good_but_a_recent_one_expires(
    settings: Settings, tmp_path: Path
) -> None:
    now = [CITED + SETTLED_AFTER - timedelta(hours=1)]  # the citation is only a day old
    with State(tmp_path / "state.sqlite") as state:
        cache = LookupCache(state, clock=lambda: now[0])
        _, first = best(MOVED, settings, cache)
        now[0] += timedelta(days=2)
        _, recent = best(MOVED, settings, cache)  # expired: new captures could have appeared
        now[0] += timedelta(days=3650)
        _, settled = best(MOVED, settings, cache)  # looked up once the date had settled
    # The closest-capture lookup is redone; the verdicts on archived bodies never expire.
    assert first.urls[0] == closest_lookup(MOVED)
    assert recent.urls == [closest_lookup(MOVED)]
    assert settled.urls == []


def test_a_verdict_is_reused_for_a_new_quote_only_if_its_text_was_searched(
    settings: Settings, cache: LookupCache
) -> None:
    best(NOTICE, settings, cache, quote=QUOTE)
    raw_url = raw("20180301000000", NOTICE)
    verdict = cache.verdict(raw_url)
    assert verdict is not None and verdict.accepted
    assert cache.passage(raw_url, QUOTE) == PassageMatch("verbatim", 100.0)
    _, calls = best(NOTICE, settings, cache, quote="a different passage, never searched")
    assert calls.cdx == []  # the listing is cached
    assert raw_url in calls.replay  # the body is read again to search for the new passage


def test_a_passage_judged_by_the_old_fuzzy_matcher_is_searched_again(
    settings: Settings, cache: LookupCache
) -> None:
    # A state file from before the quotes stage says "fuzzy" for the misquoted year.
    misquote = "The dam was fully refurbished in 1999"
    best(DAM, settings, cache, quote=misquote)
    raw_url = raw("20180601000000", DAM)
    key = hashlib.sha1(misquote.encode()).hexdigest()
    cache.state.execute(
        "UPDATE memento_passages SET found = 'fuzzy', score = 97 WHERE raw_url = ? AND passage = ?",
        (raw_url, key),
    )
    assert cache.passage(raw_url, misquote) is None
    selection, calls = best(DAM, settings, cache, quote=misquote)
    assert raw_url in calls.replay
    assert selection.reason.endswith("holds an altered version of the quoted passage (1999 → 1998)")
    assert cache.passage(raw_url, misquote) == PassageMatch("altered", 85.7, ("1999 → 1998",))


# -- the Internet Archive's ways, played by a loopback stand-in -----------------------------

IA_LIKE = wayback_archive("wayback:http://ia.test/web/")


def ia_settings(origin: OriginServer) -> Settings:
    return Settings(host_map={"ia.test": origin.address}, resolve_only=True, timeout=5.0, retries=0)


def memento_headers(timestamp: str, url: str, links: str = "") -> tuple[tuple[str, str], ...]:
    moment = datetime.strptime(timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    headers = [("Memento-Datetime", moment.strftime("%a, %d %b %Y %H:%M:%S GMT"))]
    if links:
        headers.append(("Link", links))
    return tuple(headers)


def link(timestamp: str, url: str, rel: str) -> str:
    moment = datetime.strptime(timestamp, "%Y%m%d%H%M%S").strftime("%a, %d %b %Y %H:%M:%S GMT")
    return f'<http://ia.test/web/{timestamp}/{url}>; rel="{rel}"; datetime="{moment}"'


def ia_best(origin: OriginServer, url: str) -> tuple[Selection, ArchiveCalls]:
    settings = ia_settings(origin)
    with build_session(settings) as session:
        calls = ArchiveCalls(session)
        selection = find_best_memento(url, CITED, [IA_LIKE], session, settings)
    return selection, calls


def test_prev_memento_link_finds_the_capture_before_the_date_without_cdx(
    origin: OriginServer,
) -> None:
    url = "http://x.example/a"
    origin.add(
        f"http://ia.test/web/20181128235959id_/{url}",
        Page(status=302, location=f"http://ia.test/web/20181201000000id_/{url}"),
    )
    links = ", ".join(
        [
            f'<{url}>; rel="original"',
            link("20180601000000", url, "first prev memento"),
            link("20181201000000", url, "memento"),
        ]
    )
    origin.add(
        f"http://ia.test/web/20181201000000id_/{url}",
        Page(body=page("A", "after"), headers=memento_headers("20181201000000", url, links)),
    )
    origin.add(
        f"http://ia.test/web/20180601000000id_/{url}",
        Page(body=page("A", "before"), headers=memento_headers("20180601000000", url)),
    )
    selection, calls = ia_best(origin, url)
    assert selection.memento is not None
    assert selection.memento.raw_url == f"http://ia.test/web/20180601000000id_/{url}"
    assert selection.reason == "latest capture before 2018-11-28 (2018-06-01)"
    assert calls.cdx == []
    assert len(calls.urls) == 3


def test_first_memento_link_says_nothing_is_earlier(origin: OriginServer) -> None:
    url = "http://x.example/first"
    origin.add(
        f"http://ia.test/web/20181128235959id_/{url}",
        Page(status=302, location=f"/web/20190301000000id_/{url}"),
    )
    links = link("20190301000000", url, "first memento")
    origin.add(
        f"http://ia.test/web/20190301000000id_/{url}",
        Page(body=page("F", "first"), headers=memento_headers("20190301000000", url, links)),
    )
    selection, calls = ia_best(origin, url)
    assert selection.reason == "no capture before 2018-11-28; earliest after it (2019-03-01)"
    assert calls.cdx == []
    assert len(calls.urls) == 2


def test_a_location_rewritten_into_the_archive_is_a_captured_redirect(
    origin: OriginServer,
) -> None:
    # The IA rewrites a captured redirect's Location to its own replay URL.
    url = "http://x.example/old"
    origin.add(
        f"http://ia.test/web/20181128235959id_/{url}",
        Page(status=302, location=f"http://ia.test/web/20181120000000id_/{url}"),
    )
    origin.add(
        f"http://ia.test/web/20181120000000id_/{url}",
        Page(
            status=301,
            location="https://ia.test/web/20181120000001id_/http://x.example/",
            headers=memento_headers("20181120000000", url),
        ),
    )
    origin.add("http://ia.test/web/cdx", Page(body="", content_type="text/plain"))  # lists none
    selection, calls = ia_best(origin, url)
    assert selection.memento is None
    assert summary(selection)[0] == (
        "2018-11-20T00:00:00Z",
        "captured redirect to the home page (http://x.example/)",
    )
    assert len(calls.cdx) == 1  # rejected through replay, so the listing was asked for


def test_a_throttled_cdx_api_does_not_lose_what_replay_found(origin: OriginServer) -> None:
    url = "http://x.example/late"
    origin.add(
        f"http://ia.test/web/20181128235959id_/{url}",
        Page(status=302, location=f"/web/20181201000000id_/{url}"),
    )
    origin.add(
        f"http://ia.test/web/20181201000000id_/{url}",
        Page(body=page("L", "late"), headers=memento_headers("20181201000000", url)),
    )
    origin.add("http://ia.test/web/cdx", Page(status=429, body="slow down"))
    settings = ia_settings(origin)
    with build_session(settings) as session:
        selection = find_best_memento(
            url, CITED, [IA_LIKE], session, settings, cdx_limiter=CdxRateLimiter()
        )
    assert selection.memento is not None
    assert selection.memento.raw_url == f"http://ia.test/web/20181201000000id_/{url}"
    assert selection.reason == (
        "no capture before 2018-11-28; earliest after it (2018-12-01); not checked against "
        "every capture (wayback:http://ia.test/web/: CDX server rate limited (HTTP 429); "
        "try again later)"
    )
    assert [hit.path.startswith("/web/cdx") for hit in origin.hits_for("ia.test")] == [
        False,
        False,
        True,  # one CDX request, no retry without a Retry-After
    ]


# -- 429s on the replay path, with an injected clock ----------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []
        self.on_sleep: list[object] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        for action in self.on_sleep:
            action()  # type: ignore[operator]


URL_429 = "http://x.example/busy"
LOOKUP_429 = f"http://ia.test/web/20181128235959id_/{URL_429}"


def closest_429(origin: OriginServer, limiter: CdxRateLimiter) -> Memento | None:
    settings = ia_settings(origin)
    with build_session(settings) as session:
        return find_closest_by_replay(URL_429, CITED, IA_LIKE, session, settings, limiter=limiter)


def test_replay_429_with_retry_after_is_waited_out_once(origin: OriginServer) -> None:
    origin.add(LOOKUP_429, Page(status=429, headers=(("Retry-After", "7"),)))
    clock = FakeClock()
    # The archive recovers while we wait.
    clock.on_sleep.append(
        lambda: origin.add(
            LOOKUP_429, Page(status=302, location=f"/web/20181101000000id_/{URL_429}")
        )
    )
    found = closest_429(origin, CdxRateLimiter(clock=clock, sleep=clock.sleep))
    assert found is not None and found.datetime == "2018-11-01T00:00:00Z"
    assert clock.slept == [7.0]
    assert len(origin.hits_for("ia.test")) == 2


def test_replay_second_429_is_an_error_not_a_loop(origin: OriginServer) -> None:
    origin.add(LOOKUP_429, Page(status=429, headers=(("Retry-After", "7"),)))
    clock = FakeClock()
    with pytest.raises(NetworkError) as raised:
        closest_429(origin, CdxRateLimiter(clock=clock, sleep=clock.sleep))
    assert str(raised.value) == (
        "wayback:http://ia.test/web/: replay server rate limited (HTTP 429), "
        "asked to wait 7s; try again later"
    )
    assert len(origin.hits_for("ia.test")) == 2
    assert clock.slept == [7.0]


def test_replay_long_retry_after_is_honoured_by_not_asking_again(origin: OriginServer) -> None:
    origin.add(LOOKUP_429, Page(status=429, headers=(("Retry-After", "3600"),)))
    clock = FakeClock()
    limiter = CdxRateLimiter(clock=clock, sleep=clock.sleep)
    errors = []
    for _ in range(3):
        with pytest.raises(NetworkError) as raised:
            closest_429(origin, limiter)
        errors.append(str(raised.value))
    assert errors == [
        "wayback:http://ia.test/web/: replay server rate limited (HTTP 429), "
        "asked to wait 3600s; try again later",
        *[
            "wayback:http://ia.test/web/: replay server asked for a pause; "
            "not asking it again for another 3600s"
        ]
        * 2,
    ]
    assert len(origin.hits_for("ia.test")) == 1  # one 429, then silence
    assert clock.slept == []


def test_429_while_reading_a_capture_fails_the_lookup_and_is_not_cached(
    origin: OriginServer, tmp_path: Path
) -> None:
    url = "http://x.example/throttled"
    origin.add(
        f"http://ia.test/web/20181128235959id_/{url}",
        Page(status=302, location=f"/web/20181101000000id_/{url}"),
    )
    origin.add(f"http://ia.test/web/20181101000000id_/{url}", Page(status=429))
    settings = ia_settings(origin)
    with State(tmp_path / "state.sqlite") as state, build_session(settings) as session:
        cache = LookupCache(state)
        clock = FakeClock()
        with pytest.raises(NetworkError, match=r"replay server rate limited \(HTTP 429\)"):
            find_best_memento(
                url,
                CITED,
                [IA_LIKE],
                session,
                settings,
                cache=cache,
                replay_limiter=CdxRateLimiter(clock=clock, sleep=clock.sleep),
            )
        assert cache.verdict(f"http://ia.test/web/20181101000000id_/{url}") is None
    assert clock.slept == []  # no Retry-After: no second try


def test_replay_urls_are_parsed_whatever_the_scheme() -> None:
    assert parse_replay_url(
        IA_LIKE, "https://ia.test/web/20181101000000id_/http://x.example/a?b=1"
    ) == (
        "20181101000000",
        "http://x.example/a?b=1",
    )
    assert (
        parse_replay_url(IA_LIKE, "http://ia.test/other/20181101000000/http://x.example/") is None
    )
    assert parse_replay_url(IA_LIKE, "http://ia.test/web/timemap/link/http://x.example/") is None


def test_content_verdicts_round_trip_through_the_state_file(tmp_path: Path) -> None:
    memento = Memento(
        original=REPORT,
        datetime="2018-06-15T10:30:00Z",
        archive=ARCHIVE.spec,
        url="u",
        raw_url="r",
        http_status=200,
    )
    verdict = ContentVerdict(True, "", memento, previous=memento, first=True)
    with State(tmp_path / "state.sqlite") as state:
        LookupCache(state).remember_verdict("r", verdict)
    with State(tmp_path / "state.sqlite") as state:
        assert LookupCache(state).verdict("r") == verdict
        assert LookupCache(state).verdict("other") is None
