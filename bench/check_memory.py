#!/usr/bin/env python3
"""Scenario C's memory, process by process, at several sizes: is it flat in the links?

Runs ``archiver check ARTICLE --format jsonl`` (as ``check_bench.py`` does: 5 s timeout,
no retries, 8 per host, a fresh state file) on the simulated web of
``../shared/bench/origin.py`` with 5,000 hosts, for each ``--links`` count (default
50,000, 100,000 and 200,000), and reports for each run:

- the peak proportional set size (PSS, pages shared between processes counted once) of
  each process (the parent, and each worker process it forked), and the peak of their
  sum (sampled together, every 20 ms, from /proc);
- the processor time (user + system) of the whole process tree: this script makes itself
  a child subreaper, so workers the parent did not wait for are still counted;
- wall time, and how many verdicts match ``origin.py expect``.

    python3 bench/check_memory.py                       # 50k, 100k, 200k
    python3 bench/check_memory.py --links 20000 --runs 2
    python3 bench/check_memory.py --scenario A --code /tmp/old   # another commit's tree

Linux only (/proc, prctl).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_bench import (
    ORIGIN,
    ROOT,
    SCENARIOS,
    children,
    origin,
    pss_kb,
    score,
    serving_origin,
)

PR_SET_CHILD_SUBREAPER = 36


@dataclass
class Measured:
    links: int
    seconds: float
    cpu: float  # user + system seconds of the whole tree
    peaks_mb: dict[int, float] = field(default_factory=dict)  # pid -> peak PSS
    sum_mb: float = 0.0
    at_sum_peak: list[float] = field(default_factory=list)  # per process, parent first
    right: int = 0
    total: int = 0
    wrong: dict[str, int] = field(default_factory=dict)  # "expected->got": count


def measure(links: int, port: int, hosts: int, work: Path, code: Path | None = None) -> Measured:
    common = ["--hosts", str(hosts), "--port", str(port), "--links", str(links)]
    (work / "article.md").write_text(origin("article", *common, "--format", "md"))
    expected = dict(line.split("\t") for line in origin("expect", *common).splitlines())
    (work / "state.sqlite").unlink(missing_ok=True)
    command = [
        str(ROOT / ".venv" / "bin" / "archiver"), "check", "article.md", "--format", "jsonl",
        "--timeout", "5", "--retries", "0", "--per-host", "8", "--fresh-for", "0",
        "--state", str(work / "state.sqlite"),
    ]  # fmt: skip
    peaks: dict[int, int] = {}
    at_top: dict[int, int] = {}  # each process's PSS when their sum peaked
    seen: set[int] = set()
    top = 0
    done = threading.Event()
    with (work / "out.jsonl").open("w") as out:
        started = time.monotonic()
        env = {**os.environ, "PYTHONPATH": str(code)} if code is not None else None
        process = subprocess.Popen(
            command, cwd=work, stdout=out, stderr=subprocess.DEVNULL, env=env
        )

        def sample() -> None:
            nonlocal top, at_top
            while not done.wait(0.02):
                pending, now = [process.pid], {}
                while pending:
                    pid = pending.pop()
                    pss = pss_kb(pid)
                    if pss is None:
                        continue
                    seen.add(pid)
                    peaks[pid] = max(peaks.get(pid, 0), pss)
                    now[pid] = pss
                    pending.extend(children(pid))
                if sum(now.values()) > top:
                    top, at_top = sum(now.values()), now

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, _, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - started
        process.returncode = 0  # waited for above
        done.set()
        sampler.join()
    cpu = usage.ru_utime + usage.ru_stime
    for pid in seen - {process.pid}:  # workers left to us (the subreaper)
        try:
            _, _, usage = os.wait4(pid, 0)
        except ChildProcessError:  # the parent waited for it: counted in its usage
            continue
        cpu += usage.ru_utime + usage.ru_stime
    got = {}
    for line in (work / "out.jsonl").read_text().splitlines():
        row = json.loads(line)
        got[row["url"]] = row["verdict"]
    right, wrong = score(got, expected)
    result = Measured(links, round(seconds, 2), round(cpu, 2), right=right, total=len(expected))
    result.wrong = wrong
    result.peaks_mb = {pid: round(kb / 1024, 1) for pid, kb in peaks.items()}
    result.sum_mb = round(top / 1024, 1)
    result.at_sum_peak = [round(at_top[pid] / 1024, 1) for pid in sorted(at_top)]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--links", type=int, action="append", help="default 50k, 100k, 200k")
    parser.add_argument("--runs", type=int, default=1, help="runs at each size")
    parser.add_argument("--scenario", choices=list(SCENARIOS), default="C", help="its hosts")
    parser.add_argument(
        "--code", type=Path, help="run the archiver package of this tree (another commit's)"
    )
    args = parser.parse_args()
    if not ORIGIN.exists():
        sys.exit(f"{ORIGIN} is missing: the benchmark needs ../shared/bench/origin.py")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("cannot become a child subreaper: workers' CPU time would be lost")
    for tree in (ROOT, args.code) if args.code else (ROOT,):
        compile_all = [sys.executable, "-m", "compileall", "-q", str(tree / "archiver")]
        subprocess.run(compile_all, check=True)
    sc = SCENARIOS[args.scenario]
    print("| links | wall (s) | CPU (s) | peak MB per process (parent first) | peak MB summed"
          " (each process then) | right |\n|---|---|---|---|---|---|")  # fmt: skip
    with serving_origin(sc.hosts, sc.port), tempfile.TemporaryDirectory(prefix="bench-mem-") as tmp:
        default = [50_000, 100_000, 200_000] if sc.name == "C" else [sc.links]
        for links in args.links or default:
            for _ in range(args.runs):
                m = measure(links, sc.port, sc.hosts, Path(tmp), args.code)
                per = " + ".join(str(mb) for _, mb in sorted(m.peaks_mb.items()))
                load = os.getloadavg()[0]
                print(
                    f"| {links:,} | {m.seconds} | {m.cpu} | {per} | {m.sum_mb}"
                    f" ({' + '.join(map(str, m.at_sum_peak))}) |"
                    f" {m.right}/{m.total} {m.wrong or ''} | load {load:.1f}",
                    flush=True,
                )
                time.sleep(1)


if __name__ == "__main__":
    main()
