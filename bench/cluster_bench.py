#!/usr/bin/env python3
"""Scenario C on a Dask cluster against one machine: ``archiver check`` of the same article,
once as usual and once with ``--cluster`` on a ``distributed.LocalCluster`` (a scheduler and
``--workers`` worker processes, all on loopback, started by this script).

Same origin server and article as ``check_bench.py`` (``../shared/bench/origin.py``, 5 s
timeout, no retries, 8 requests in flight per host). Reported for each: wall time, peak
memory summed over every process involved (archiver and its children; for the cluster
also the scheduler, the nannies and the workers), and the verdicts that match
``origin.py expect``.

    python3 bench/cluster_bench.py --links 50000 --runs 1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_bench import ROOT, SCENARIOS, origin, score, serving_origin, timed


def _pids_of(cluster: object) -> list[int]:
    """The cluster's worker processes and their nannies. The scheduler runs inside this
    script's own process (as ``LocalCluster`` places it), which is not counted: it also
    holds the sampler and the origin's article."""
    client = cluster.get_client()  # type: ignore[attr-defined]
    pids = list(client.run(os.getpid).values())
    pids += [pid for pid in client.run(os.getppid).values() if pid != os.getpid()]
    return sorted(set(pids))


def run_check(
    work: Path, extra: list[str], others: list[int], limit: float
) -> tuple[float | None, float, dict[str, str]]:
    exe = ROOT / ".venv" / "bin" / "archiver"
    (work / "state.sqlite").unlink(missing_ok=True)
    command = [
        str(exe), "check", "article.md", "--format", "jsonl", "--timeout", "5", "--retries", "0",
        "--per-host", "8", "--fresh-for", "0", "--state", str(work / "state.sqlite"), *extra,
    ]  # fmt: skip
    seconds, peak, out, _ = timed(command, work, limit, others)
    verdicts = {}
    for line in out.splitlines():
        row = json.loads(line)
        verdicts[row["url"]] = row["verdict"]
    return seconds, peak or 0.0, verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--links", type=int, default=SCENARIOS["C"].links)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--limit", type=float, default=900.0)
    args = parser.parse_args()
    from distributed import LocalCluster

    sc = SCENARIOS["C"]
    with (
        tempfile.TemporaryDirectory(prefix="bench-cluster-", ignore_cleanup_errors=True) as tmp,
        serving_origin(sc.hosts, sc.port),
    ):
        work = Path(tmp)
        common = ["--hosts", str(sc.hosts), "--port", str(sc.port), "--links", str(args.links)]
        (work / "article.md").write_text(origin("article", *common, "--format", "md"))
        expected = dict(line.split("\t") for line in origin("expect", *common).splitlines())
        floor = origin("floor", "--hosts", str(sc.hosts), "--links", str(args.links)).strip()
        with LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster:
            others = _pids_of(cluster)
            address = cluster.scheduler_address
            rows = []
            for attempt in range(args.runs):
                for name, extra, pids in (
                    ("one machine", [], []),
                    (f"LocalCluster, {args.workers} workers", ["--cluster", address], others),
                ):
                    seconds, peak, verdicts = run_check(work, extra, pids, args.limit)
                    right, wrong = score(verdicts, expected)
                    print(
                        f"{name} run {attempt + 1}: {seconds} s, {peak:.0f} MB, "
                        f"{right}/{len(expected)} right {wrong}",
                        file=sys.stderr,
                    )
                    rows.append((name, seconds, peak, right, len(expected)))
        print("| links | floor (s) | how | wall (s) | peak MB (all processes) | right |")
        print("|---|---|---|---|---|---|")
        for name, seconds, peak, right, total in rows:
            cells = [f"{args.links:,}", floor, name, seconds, f"{peak:.0f}", f"{right}/{total}"]
            print("| " + " | ".join(str(cell) for cell in cells) + " |")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
