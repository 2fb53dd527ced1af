#!/usr/bin/env python3
"""How fast ``archiver verify`` checks a store, against OpenSSL hashing the same files.

    .venv/bin/python bench/verify_bench.py                      # build (once) and time
    .venv/bin/python bench/verify_bench.py --store /tmp/vb --gb 1.2 --runs 7
    .venv/bin/python bench/verify_bench.py --store /tmp/vb-files --warc-size 1 # a file a capture
    .venv/bin/python bench/verify_bench.py --build-only
    .venv/bin/python bench/verify_bench.py --only before --before ../main-at-some-commit

Results are in bench/RESULTS.md ("Fixity").

The goals (issue 13): plain ``verify`` (every stored byte against the manifest's sha256)
within 1.2x of ``openssl dgst -sha256 FILES``; ``verify --deep`` (every record inflated,
its WARC block and payload digests, the manifest's payload sha256 and the archive's digest
checked too) within 1.3x of ``zcat FILES | openssl dgst -sha256``.

**The store** is written by archiver itself: live captures, through ``Store.capture_live``,
of pages served by the simulated origin on loopback (``archiver.demo.simweb``), until the
WARC files reach ``--gb`` GB (10^9 bytes). Half the pages are HTML (pseudo-random prose,
which gzip shrinks about threefold), half are images (random bytes, which it does not
shrink), 0.3 to 6 MB each, so the store holds what archived pages and their requisites
hold. It is built once and reused while its manifest is there. Its WARC files are rolled
at ``--warc-size`` bytes, the store's default (1 GB) unless told: about 1 GB of captures
is then one or two files, hashed by one core each. ``--warc-size 1`` gives a file to each
capture (how stores were kept before they rolled their files: hundreds of files, every
core busy); ``--one-file`` copies such a store into one file (its manifest rewritten to
match, with its own digest).

**The timing**: the files are read once first (into the page cache: every tool then
reads from memory), then each pair runs ``--runs`` times, the two commands taking turns
(which goes first alternates), so both see the same load; the machine is shared, and the
load average is printed with each run. Wall time from start to exit of each command, as
``time`` would give it; ``archiver verify`` runs as the installed command, with
``--no-log`` (the fixity log is the same few hundred bytes either way; left out so that
reruns do not grow it). The ratio is of the medians.
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from archiver.config import DEFAULT_WARC_SIZE

GB = 1_000_000_000
HOST = "bench.example"
VOCABULARY = (
    "harbour council report sensor camera contract tender project county city police "
    "surveillance revenue quarter investors announcement network system platform data "
    "the a of and to in for on with by at from as is was were be been this that which "
    "archive memento capture record page link source citation article editor reader"
)
WORDS = VOCABULARY.split()


def prose(rng: random.Random, size: int) -> bytes:
    """``size`` bytes of HTML paragraphs of pseudo-random words and numbers."""
    out: list[str] = []
    total = 0
    while total < size:
        words = rng.choices(WORDS, k=rng.randint(40, 120))
        words += [str(rng.randint(0, 10**6)) for _ in range(rng.randint(1, 8))]
        rng.shuffle(words)
        paragraph = "<p>" + " ".join(words) + ".</p>\n"
        out.append(paragraph)
        total += len(paragraph)
    return "".join(out).encode("ascii")[:size]


class Bodies:
    """Page bodies made quickly from a pool: slices of pre-made prose or random bytes."""

    def __init__(self, seed: int = 13) -> None:
        self.rng = random.Random(seed)
        self.text = prose(self.rng, 24 * 1024 * 1024)
        self.noise = self.rng.randbytes(24 * 1024 * 1024)

    def body(self, number: int) -> tuple[bytes, str]:
        size = self.rng.randint(300_000, 6_000_000)
        if number % 2:
            start = self.rng.randrange(len(self.noise) - size)
            return self.noise[start : start + size], "image/jpeg"
        start = self.rng.randrange(len(self.text) - size)
        title = f"<html><head><title>Page {number}</title></head><body>\n".encode()
        return title + self.text[start : start + size] + b"</body></html>\n", "text/html"


def store_size(root: Path) -> int:
    """The WARC bytes in ``root``: closed files and the one being appended to."""
    return sum(p.stat().st_size for p in root.glob("*.warc.gz*"))


def build_store(root: Path, gigabytes: float, warc_size: int, batch: int = 24) -> None:
    """Capture pages from a loopback origin into ``root`` until its WARCs reach the size."""
    from archiver.config import Settings
    from archiver.demo.simweb.origin import OriginServer, Page
    from archiver.net.http import build_session
    from archiver.storage.store import Store

    bodies = Bodies()
    store = Store(root, warc_size=warc_size)
    number = len(store.captures)
    started = time.monotonic()
    with OriginServer() as origin:
        settings = Settings(
            host_map={HOST: origin.address}, resolve_only=True, timeout=30, retries=0
        )
        session = build_session(settings)
        while (size := store_size(root)) < gigabytes * GB:
            urls = []
            origin.sites.pop(HOST, None)  # the last batch's bodies are captured: let them go
            for _ in range(batch):
                body, kind = bodies.body(number)
                url = f"http://{HOST}/page/{number}"
                origin.add(url, Page(body=body, content_type=kind))
                urls.append(url)
                number += 1
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda u: store.capture_live(u, session, settings, [u]), urls))
            print(f"  {number} captures, {size / GB:.2f} GB", file=sys.stderr, flush=True)
    store.close()  # the last file closed: every file the store lists is whole
    took = time.monotonic() - started
    print(f"built {root}: {store_size(root) / GB:.3f} GB in {took:.0f} s", file=sys.stderr)


def one_file_copy(root: Path) -> Path:
    """A copy of the store whose WARC files are one file (as a store that rolls its files
    at a size limit keeps them), its manifest's records moved to their new offsets and
    its own digest worked out again. Made once, beside the store."""
    import hashlib
    import json

    from archiver.storage.manifest import manifest_digest

    copy = root.with_name(root.name + "-one-file")
    if (copy / "manifest.json").exists():
        return copy
    copy.mkdir(exist_ok=True)
    data = json.loads((root / "manifest.json").read_text())
    name, offsets, position = "all.warc.gz", {}, 0
    sha256 = hashlib.sha256()
    with (copy / name).open("wb") as out:
        for entry in data["files"]:
            offsets[entry["name"]] = position
            content = (root / entry["name"]).read_bytes()
            out.write(content)
            sha256.update(content)
            position += len(content)
    for row in data["records"]:
        row["offset"] += offsets[row["file"]]
        row["file"] = name
    for capture in data["captures"]:
        capture["offset"] += offsets[capture["warc_file"]]
        capture["warc_file"] = name
    data["files"] = [{"name": name, "sha256": sha256.hexdigest(), "size": position}]
    data.pop("digest", None)
    data["digest"] = manifest_digest(data)
    (copy / "manifest.json").write_text(json.dumps(data, indent=2, ensure_ascii=False))
    return copy


def big_manifest_copy(one_file: Path, times: int) -> Path:
    """The one-file copy with its manifest's records and captures listed ``times`` over
    (a hard link to its WARC): the manifest of a store of as many small records, such as
    pages with their requisites, which plain ``verify`` parses while it hashes."""
    import json

    from archiver.storage.manifest import manifest_digest

    copy = one_file.with_name(f"{one_file.name}-x{times}")
    if (copy / "manifest.json").exists():
        return copy
    copy.mkdir(exist_ok=True)
    for warc in one_file.glob("*.warc.gz"):
        if not (copy / warc.name).exists():
            os.link(warc, copy / warc.name)
    data = json.loads((one_file / "manifest.json").read_text())
    data["records"] *= times
    data["captures"] *= times
    data.pop("digest", None)
    data["digest"] = manifest_digest(data)
    (copy / "manifest.json").write_text(json.dumps(data, indent=2, ensure_ascii=False))
    return copy


def timed(command: str) -> float:
    started = time.perf_counter()
    subprocess.run(command, shell=True, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def compare(name: str, ours: str, yardstick: str, runs: int) -> tuple[float, float]:
    """Median seconds of (ours, yardstick), taking turns; prints each run."""
    times: dict[str, list[float]] = {ours: [], yardstick: []}
    for run in range(runs):
        order = (ours, yardstick) if run % 2 == 0 else (yardstick, ours)
        for command in order:
            seconds = timed(command)
            times[command].append(seconds)
            who = "archiver" if command == ours else name if name == "before" else "openssl"
            print(f"{name} run {run + 1}: {who:8} {seconds:6.2f} s  (load {load()})", flush=True)
    return statistics.median(times[ours]), statistics.median(times[yardstick])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(tempfile.gettempdir()) / "archiver-verify-bench" / "store"
    parser.add_argument("--store", type=Path, default=default)
    parser.add_argument("--gb", type=float, default=1.1, help="WARC bytes to build, in GB")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--warc-size",
        type=int,
        default=DEFAULT_WARC_SIZE,
        help="bytes at which the store built rolls its WARC files (default: the store's)",
    )
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument(
        "--one-file",
        action="store_true",
        help="time a copy of the store whose WARCs are one file (a rolled store's case)",
    )
    parser.add_argument(
        "--manifest-times",
        type=int,
        default=1,
        metavar="N",
        help="with --one-file: its manifest's records and captures listed N times over "
        "(a large manifest; only plain verify passes it)",
    )
    parser.add_argument("--only", choices=["plain", "deep", "before"], action="append")
    parser.add_argument(
        "--before",
        type=Path,
        metavar="CHECKOUT",
        help="also time the verify of another checkout of archiver (an earlier commit, "
        "whose verify was always deep) against this one's verify --deep",
    )
    args = parser.parse_args()
    root: Path = args.store
    if not root.exists() or store_size(root) < args.gb * GB:
        build_store(root, args.gb, args.warc_size)
    if args.build_only:
        return
    if args.one_file:
        root = one_file_copy(root)
        if args.manifest_times > 1:
            root = big_manifest_copy(root, args.manifest_times)
    files = sorted(root.glob("*.warc.gz"))
    names = " ".join(shlex.quote(str(p)) for p in files)
    total = sum(p.stat().st_size for p in files)
    archiver = shlex.quote(str(Path(sys.executable).with_name("archiver")))
    print(f"{len(files)} WARC files, {total / GB:.3f} GB; {os.cpu_count()} cores; load {load()}")
    subprocess.run(f"cat {names} > /dev/null", shell=True, check=True)  # into the page cache
    pairs = {
        "plain": (f"{archiver} verify --no-log {root}", f"openssl dgst -sha256 {names}"),
        "deep": (
            f"{archiver} verify --deep --no-log {root}",
            f"zcat {names} | openssl dgst -sha256",
        ),
    }
    if args.before is not None:
        earlier = (  # run from there: ``python -c`` puts the working directory first
            f"cd {shlex.quote(str(args.before))} && PYTHONPATH=. {shlex.quote(sys.executable)} "
            "-c 'from archiver.cli.main import main; main()' verify " + shlex.quote(str(root))
        )
        pairs["before"] = (pairs["deep"][0], earlier)
    results = []
    for name, (ours, yardstick) in pairs.items():
        if args.only and name not in args.only:
            continue
        median_ours, median_yardstick = compare(name, ours, yardstick, args.runs)
        results.append((name, median_ours, median_yardstick))
    print("\n| check | archiver (s) | yardstick (s) | ratio |\n|---|---|---|---|")
    for name, ours, yardstick in results:
        print(f"| {name} | {ours:.2f} | {yardstick:.2f} | {ours / yardstick:.2f}x |")


if __name__ == "__main__":
    main()
