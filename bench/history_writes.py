#!/usr/bin/env python3
"""What writing a long run's checks into the state file costs the process that does it.

Scenario C's parent writes 200,000 checks, about every half second what arrived
meanwhile (``check.history.WRITE_EVERY``), URLs in no order. This script records as many
synthetic checks, shuffled, in batches of ``--batch`` (default 3,640: scenario C's rate)
into a new state file, two ways, and prints the CPU seconds (user, system) of each:

- ``indexed``: each batch inserted straight into ``checks`` and its URL index (what
  ``State.record_checks`` did before; every commit rewrites most leaves of the index);
- ``appended``: each batch through ``State.record_checks`` (a table with no index), then
  one ``State.move_new_checks``, sorted, as a run does once only answers are awaited.

    python3 bench/history_writes.py
    python3 bench/history_writes.py --checks 50000 --batch 1000
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from archiver.models import LinkCheck, Verdict
from archiver.state import State


def checks(count: int) -> list[LinkCheck]:
    made = []
    for i in range(count):
        host = i % 5000
        url = f"http://127.0.{host // 254}.{2 + host % 254}:18300/p/{i}"
        made.append(LinkCheck(url, Verdict.ALIVE, 200, url, "HTTP 200", "2026-12-05T15:00:00Z"))
    random.Random(1).shuffle(made)
    return made


def cpu() -> tuple[float, float]:
    times = os.times()
    return times.user, times.system


def indexed(path: Path, batches: list[list[LinkCheck]]) -> str:
    State(path).close()  # the schema
    with sqlite3.connect(path) as db:
        for batch in batches:
            rows = [
                (c.url, c.verdict.value, c.http_status, c.final_url, c.reason, c.checked_at)
                for c in batch
            ]
            with db:
                db.executemany(
                    "INSERT INTO checks (url, verdict, http_status, final_url, reason,"
                    " checked_at) VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
    db.close()
    return ""


def appended(path: Path, batches: list[list[LinkCheck]]) -> str:
    with State(path) as state:
        for batch in batches:
            state.record_checks(batch)
        before = cpu()
        state.move_new_checks()
        after = cpu()
    return f" (the move: user {after[0] - before[0]:.2f} s, sys {after[1] - before[1]:.2f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=3640)
    args = parser.parse_args()
    made = checks(args.checks)
    batches = [made[i : i + args.batch] for i in range(0, len(made), args.batch)]
    for name, write in (("indexed", indexed), ("appended", appended)):
        with tempfile.TemporaryDirectory() as work:
            before = cpu()
            detail = write(Path(work) / "state.sqlite", batches)
            after = cpu()
        user, system = after[0] - before[0], after[1] - before[1]
        print(f"{name}: user {user:.2f} s, sys {system:.2f} s, total {user + system:.2f} s{detail}")


if __name__ == "__main__":
    main()
