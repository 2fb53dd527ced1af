"""The checker on many hosts: every host's URLs get a verdict, and the memory it holds
does not grow with the links (bench/check_memory.py measures scenario C)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archiver.check.links import INTAKE_CHUNK, check_urls
from archiver.check.processes import READ_APART_BYTES, READ_BATCH, stream_apart
from archiver.cli.targets import cited_urls, give_cited_urls
from archiver.config import Settings
from archiver.demo.simweb.origin import OriginServer, Page, Site
from archiver.errors import InputError
from archiver.models import Verdict
from archiver.state import State
from tests.conftest import sandbox_settings

PAGE = "<html><head><title>A report {n}</title></head><body>Findings of {n}.</body></html>"
# A page whose body is mostly script (30 KB), as many are: nothing of it is compared
SCRIPTED = PAGE.replace("</head>", "<script>" + "var x = 1;" * 3000 + "</script></head>")
NOT_FOUND = "<html><head><title>Page not found</title></head><body>Sorry.</body></html>"


def many_hosts(origin: OriginServer, hosts: int) -> None:
    """``hosts`` sites with pages ``/p/N`` (alive), ``/big/N`` (alive, 30 KB) and
    ``/gone/N`` (404) for N below 8; a path that does not exist answers a soft-404 page
    (so every alive page waits for a probe). The pages are shared by the sites: this
    process holds them once."""
    pages = {}
    for n in range(8):
        pages[f"/p/{n}"] = Page(body=PAGE.format(n=n), delay=0.01 * (n % 3))
        pages[f"/gone/{n}"] = Page(status=404, body="no")
        pages[f"/big/{n}"] = Page(body=SCRIPTED.format(n=n).encode())
    for h in range(hosts):
        site = origin.sites.setdefault(f"h{h}.example", Site())
        site.fallback = Page(body=NOT_FOUND)
        site.pages.update(pages)


def test_hosts_with_a_few_links_each_all_get_verdicts(origin: OriginServer) -> None:
    # Three links on each of 40 hosts and two turns per host: one turn comes back while
    # another of the same host is still lined up, and both may see the last URL.
    many_hosts(origin, 40)
    urls = [
        f"http://h{h}.example/{'gone' if n == 2 else 'p'}/{n}" for h in range(40) for n in range(3)
    ]
    settings = sandbox_settings(origin, per_host=2, workers=8, processes=1)
    results = check_urls(urls, settings)
    assert [r.url for r in results] == urls
    assert [r.verdict for r in results] == [
        Verdict.DEAD if "/gone/" in url else Verdict.ALIVE for url in urls
    ]
    assert max(origin.peak_in_flight.values()) <= 2


CHILD = """
import pickle, sys, tracemalloc

from archiver.check.links import check_urls
settings, urls = pickle.load(open(sys.argv[1], "rb"))
seen = []
tracemalloc.start()
check_urls(urls, settings, on_result=lambda r: seen.append(r.verdict.value), keep=False)
print(tracemalloc.get_traced_memory()[1], len(seen), len(set(seen)))
"""


def peak_checking(origin: OriginServer, urls: list[str], tmp_path: Path, **changes: object) -> int:
    """Peak bytes traced (tracemalloc) while checking ``urls`` streamed (nothing kept),
    in a process of its own; every link must get the same verdict."""
    job = tmp_path / f"job-{len(urls)}.pickle"
    settings = sandbox_settings(origin, processes=1, **changes)
    job.write_bytes(pickle.dumps((settings, urls)))
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(job)], capture_output=True, text=True, check=True
    )
    peak, count, verdicts = (json.loads(word) for word in done.stdout.split())
    assert (count, verdicts) == (len(urls), 1)
    return int(peak)


def growth_per_link(
    origin: OriginServer, tmp_path: Path, few: int, many: int, directory: str = "gone"
) -> float:
    """Bytes more at the peak for each link added, from ``few`` to ``many`` links in
    ``directory`` on each of 150 hosts, with 8 slots per host and 32 requests in flight
    at most."""
    many_hosts(origin, 150)
    sizes = []
    for count in (few, many):
        urls = [f"http://h{h}.example/{directory}/{n}" for n in range(count) for h in range(150)]
        sizes.append(peak_checking(origin, urls, tmp_path, per_host=8, workers=32))
    return (sizes[1] - sizes[0]) / (150 * (many - few))


def test_memory_does_not_grow_with_the_hosts_slots(origin: OriginServer, tmp_path: Path) -> None:
    # One link on each host, then eight (as many as its slots): still at most 32
    # requests in flight, and what is held for the others is the list itself (a few
    # hundred bytes a link), not a coroutine with its futures for every slot of every
    # host (scenario C: 40,000 of them in each process).
    per_link = growth_per_link(origin, tmp_path, 1, 8)
    assert per_link < 1000, f"{per_link:.0f} bytes more for each added link"


def test_pages_waiting_for_their_hosts_probe_do_not_hold_their_bodies(
    origin: OriginServer, tmp_path: Path
) -> None:
    # Every alive page waits for its host's soft-404 probe, which takes its turn behind
    # the host's next links: eight pages of 30 KB on each of 150 hosts may wait at once.
    # What each holds meanwhile is what its verdict needs, not the body it was read from.
    per_link = growth_per_link(origin, tmp_path, 1, 8, directory="big")
    assert per_link < 10_000, f"{per_link:.0f} bytes more for each added link"


SPLIT_CHILD = """
import pickle, sys, tracemalloc

from archiver.check.links import check_urls
settings, count = pickle.load(open(sys.argv[1], "rb"))
urls = (f"http://h{n % 150}.example/gone/{n // 150}" for n in range(count))
held = []
tracemalloc.start()

def arrived(result):
    if not held:  # the first result: every URL is with the checking processes by now
        held.append(tracemalloc.get_traced_memory()[0])
    held.append(result.verdict.value)

check_urls(urls, settings, on_result=arrived, keep=False)
print(held[0], len(held) - 1)
"""


def test_the_parent_lets_go_of_the_urls_once_the_workers_have_them(
    origin: OriginServer, tmp_path: Path
) -> None:
    # Split over two checking processes, the URLs are theirs to hold: the parent's
    # memory once they are sent does not grow with them (it held each about three
    # times over, ~300 bytes a link, until the end).
    many_hosts(origin, 150)
    held = []
    for count in (1500, 15_000):
        job = tmp_path / f"split-{count}.pickle"
        settings = sandbox_settings(origin, processes=2, per_host=8, workers=64)
        job.write_bytes(pickle.dumps((settings, count)))
        done = subprocess.run(
            [sys.executable, "-c", SPLIT_CHILD, str(job)],
            capture_output=True,
            text=True,
            check=True,
        )
        now, results = (int(word) for word in done.stdout.split())
        assert results == count
        held.append(now)
    per_link = (held[1] - held[0]) / 13_500
    assert per_link < 40, f"{per_link:.0f} bytes more held for each added link"


READER = """
import resource, sys
from pathlib import Path
from archiver.cli.links import _read_urls
from archiver.config import Settings
links, path = int(sys.argv[1]), Path(sys.argv[2])
urls = [f"http://h{n % 500}.example/p/{n}" for n in range(links)]
path.write_text("".join(f"Claim {n} is in [source {n}]({u}).\\n\\n" for n, u in enumerate(urls)))
assert list(_read_urls((str(path),), None, Settings())) == urls
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def test_a_long_articles_parse_is_not_held_while_checking(tmp_path: Path) -> None:
    # What the check command does before checking: read the URLs. The parse of a long
    # article peaks at about a kilobyte a link, and this process would keep that
    # peak while checking; read in a process of its own, only the URLs come back.
    peaks = []
    for links in (20_000, 80_000):
        article = tmp_path / f"article-{links}.md"
        done = subprocess.run(
            [sys.executable, "-c", READER, str(links), str(article)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        peaks.append(int(done.stdout) * 1024)
        assert article.stat().st_size >= READ_APART_BYTES
    per_link = (peaks[1] - peaks[0]) / 60_000
    assert per_link < 500, f"{per_link:.0f} bytes more for each added link"


def read_apart(read: Callable[[Callable[[list[str]], None]], None]) -> list[str]:
    return list(stream_apart(read))


def test_what_is_read_apart_comes_back_whole_and_in_order_in_batches() -> None:
    # More than two batches, the last one short, given in one piece or one at a time; an
    # error after some batches were sent is still raised here, not a list cut short.
    count = 2 * READ_BATCH + 7
    expected = [f"u{n}" for n in range(count)]
    assert read_apart(lambda give: give(expected)) == expected

    def one_at_a_time(give: Callable[[list[str]], None]) -> None:
        for url in expected:
            give([url])

    assert read_apart(one_at_a_time) == expected
    assert read_apart(lambda give: None) == []

    def fails_late(give: Callable[[list[str]], None]) -> None:
        give([f"u{n}" for n in range(READ_BATCH + 1)])
        raise InputError("cannot read article b.md: binary data")

    with pytest.raises(InputError, match=r"b\.md: binary data"):
        read_apart(fails_late)


def test_what_is_streamed_apart_arrives_while_the_rest_is_still_being_read(
    tmp_path: Path,
) -> None:
    # The reader sends its first batch, then waits for this side to have taken it: given
    # only once the reading ended, the first item would never come (the reader gives up
    # after 10 s and its error would be raised here instead).
    taken = tmp_path / "first-batch-taken"

    def read(give: Callable[[list[str]], None]) -> None:
        give([f"u{n}" for n in range(READ_BATCH)])
        for _ in range(1000):
            if taken.exists():
                break
            time.sleep(0.01)
        else:
            raise InputError("the first batch was not given before the rest was read")
        give(["last"])

    items = stream_apart(read)
    first = [next(items) for _ in range(READ_BATCH)]
    taken.touch()
    assert first == [f"u{n}" for n in range(READ_BATCH)]
    assert list(items) == ["last"]


def test_a_long_articles_urls_are_given_while_it_is_still_being_parsed(tmp_path: Path) -> None:
    # give_cited_urls gives a long Markdown article's URLs a few blocks' worth at a time,
    # as the parse finds them, not all once the last block is parsed.
    article = tmp_path / "long.md"
    urls = [f"http://h{n % 50}.example/p/{n}" for n in range(20_000)]
    article.write_text(
        "".join(f"Claim {n} is in [source {n}]({u}).\n\n" for n, u in enumerate(urls))
    )
    given: list[list[str]] = []
    give_cited_urls([str(article)], None, Settings(), given.append)
    assert [url for part in given for url in part] == urls == cited_urls([str(article)])
    assert len(given) > 100 and max(len(part) for part in given) < 1000


def test_urls_taken_in_as_they_come_get_what_a_list_of_them_gets(
    origin: OriginServer, tmp_path: Path
) -> None:
    # More than one chunk of URLs, repeated across chunks, some with a fresh result in the
    # state file (reused), given one at a time: the same results, in the same order, as
    # the list gives, each URL checked once.
    many_hosts(origin, 30)
    distinct = [
        f"http://h{n % 30}.example/{'gone' if n % 7 == 0 else 'p'}/{n % 8}" for n in range(240)
    ]
    distinct = list(dict.fromkeys(distinct))
    urls = [distinct[n % len(distinct)] for n in range(INTAKE_CHUNK + 500)]
    settings = sandbox_settings(origin, fresh_for=3600.0, per_host=2, workers=16, processes=1)
    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    later = now + timedelta(minutes=5)
    results = []
    for name, given in (("list", urls), ("stream", iter(urls))):
        with State(tmp_path / f"{name}.sqlite") as state:
            check_urls(distinct[::3], settings, state=state, clock=lambda: now)
            origin.hits.clear()
            results.append(check_urls(given, settings, state=state, clock=lambda: later))
            asked = [(h.host, h.path) for h in origin.hits if "archiver-probe" not in h.path]
        assert len(asked) == len(set(asked)) == len(distinct) - len(distinct[::3])
    assert results[0] == results[1]
    assert [r.url for r in results[1]] == distinct
    assert [r.from_cache for r in results[1]] == [n % 3 == 0 for n in range(len(distinct))]


def test_an_error_while_reading_apart_is_raised_here(tmp_path: Path) -> None:
    binary = tmp_path / "article.md"
    binary.write_bytes(b"\0" * READ_APART_BYTES)
    with pytest.raises(InputError) as direct:
        cited_urls([str(binary)])
    with pytest.raises(InputError) as apart:
        read_apart(lambda give: give_cited_urls([str(binary)], None, None, give))
    assert str(apart.value) == str(direct.value) and "binary data" in str(apart.value)
    with pytest.raises(KeyError):
        read_apart(lambda give: give({}["x"]))

    def fails(give: Callable[[list[str]], None]) -> None:
        class Local(Exception):  # cannot be pickled: said in one line instead
            pass

        raise Local("from the reader")

    with pytest.raises(RuntimeError, match="Local: from the reader"):
        read_apart(fails)


def test_a_slot_handed_to_a_waiter_cancelled_meanwhile_goes_to_the_next() -> None:
    # The checker's slots (per host, and overall) hand a slot given back straight to the
    # first waiter; one cancelled after that must pass it on, or the slot is lost and
    # the host's later links wait for ever.
    import asyncio

    from archiver.check.slots import Slots

    async def main() -> tuple[int, int, bool]:
        loop = asyncio.get_running_loop()
        slots = Slots(1)
        assert slots.take_now() and not slots.take_now()
        first = asyncio.ensure_future(slots.take(loop))
        second = asyncio.ensure_future(slots.take(loop))
        third = asyncio.ensure_future(slots.take(loop))
        await asyncio.sleep(0)
        slots.give_back()  # to the first, which is cancelled before it runs
        first.cancel()
        third.cancel()  # still waiting: it gives nothing back
        await asyncio.wait_for(second, 1)
        free_while_held = slots.free
        slots.give_back()
        return free_while_held, slots.free, first.cancelled() and third.cancelled()

    assert asyncio.run(main()) == (0, 1, True)
