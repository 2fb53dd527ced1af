"""What appending captures to one WARC file costs, capture by capture.

Stores N live pages from the simulated origin server (loopback) into a new store, all
appended to one WARC file (the default ``--warc-size``), and times the two durable steps
of each capture with ``Store``'s ``on_step`` hook: *append* (its records written after
the file's committed bytes, hashed into the running sha256 and synced: from its first
write to "open-written") and *commit* (the manifest replaced: "open-written" to
"manifest-written": a line appended to the manifest's journal), and each *compaction*
(the journal folded into ``manifest.json``, rewritten whole: "manifest-written" to
"manifest-compacted", when it comes, not counted in the commit). If appending re-hashed
or re-read the file, the append time would grow with the file; it should not. Nor should
the commit grow with the number of captures (it did, when each commit rewrote the whole
manifest). Then the same pages again with ``--warc-size 1`` (one file per capture, the
layout of earlier versions) for the total, unless ``--one-file-only``.

    .venv/bin/python bench/store_bench.py [--captures 600] [--body-kb 40] [--one-file-only]
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import tempfile
import time
from pathlib import Path

from archiver.config import Settings
from archiver.demo.simweb.origin import OriginServer, Page
from archiver.net.http import build_session
from archiver.storage.store import Store


class StepClock:
    """Times each capture's append and commit from the store's steps."""

    def __init__(self) -> None:
        self.began: float | None = None
        self.appended: float | None = None
        self.committed: float | None = None
        self.append: list[float] = []
        self.commit: list[float] = []
        self.compaction: list[float] = []

    def __call__(self, step: str) -> None:
        now = time.perf_counter()
        if step == "bytes-written" and self.began is None:
            self.began = now
        elif step == "open-written" and self.began is not None:
            self.append.append(now - self.began)
            self.appended = now
        elif step == "manifest-written" and self.appended is not None:
            self.commit.append(now - self.appended)
            self.began = self.appended = None
            self.committed = now
        elif step == "manifest-compacted" and self.committed is not None:
            self.compaction.append(now - self.committed)


def store_pages(root: Path, urls: list[str], settings: Settings, warc_size: int) -> StepClock:
    clock = StepClock()
    session = build_session(settings)
    with Store(root, on_step=clock, warc_size=warc_size) as store:
        for url in urls:
            store.capture_live(url, session, settings, [url])
    return clock


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captures", type=int, default=600)
    parser.add_argument("--body-kb", type=int, default=40)
    parser.add_argument("--one-file-only", action="store_true", help="skip the --warc-size 1 run")
    args = parser.parse_args()
    words = random.Random(1).choices(string.ascii_lowercase, k=args.body_kb * 1024)
    body = "<html><body><p>" + "".join(words) + "</p></body></html>"
    urls = [f"http://bench.example/page/{n}" for n in range(args.captures)]
    with OriginServer() as origin, tempfile.TemporaryDirectory() as work:
        for url in urls:
            origin.add(url, Page(body=body))
        settings = Settings(host_map=origin.host_map(), resolve_only=True, timeout=10)
        started = time.perf_counter()
        one = store_pages(Path(work, "one"), urls, settings, 10**9)
        one_wall = time.perf_counter() - started
        files = sorted(Path(work, "one").glob("*.warc.gz"))
        size = sum(p.stat().st_size for p in files)
        tenth = max(1, args.captures // 10)
        print(f"{args.captures} captures of a {len(body) // 1024} KiB page")
        print(f"one file: {len(files)} file(s), {size / 1e6:.1f} MB, {one_wall:.1f} s")
        print("                      append ms (median)   commit ms (median)")
        for label, part in (("first", slice(None, tenth)), ("last ", slice(-tenth, None))):
            append, commit = ms(one.append[part]), ms(one.commit[part])
            print(f"  {label} {tenth:4d} captures  {append:>10}  {commit:>18}")
        slowest = max(one.commit) * 1000
        print(f"commit: slowest {slowest:.1f} ms, all {sum(one.commit):.1f} s in total")
        if one.compaction:  # the last one is on close, not in a capture
            times = ", ".join(f"{t * 1000:.0f}" for t in one.compaction)
            print(f"compactions: {len(one.compaction)}, ms each: {times}")
        if args.one_file_only:
            return
        started = time.perf_counter()
        store_pages(Path(work, "each"), urls, settings, 1)
        each_wall = time.perf_counter() - started
        count = len(list(Path(work, "each").glob("*.warc.gz")))
        print(f"--warc-size 1: {count} file(s), {each_wall:.1f} s")


if __name__ == "__main__":
    main()
