"""Checking on a real Dask cluster (``distributed.LocalCluster``: a scheduler and two
worker processes, all on loopback) against the origin server: the same verdicts as one
process, the per-host limit held across workers (measured at the origin), and a worker
killed mid-run without losing the run."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from archiver.check.links import check_urls
from archiver.cli.main import cli
from archiver.demo.simweb.origin import OriginServer, Page
from archiver.state import open_state
from tests.conftest import CANARY, sandbox_settings

distributed = pytest.importorskip("distributed", reason="pip install 'archiver[test]'")


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=2,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        protocol="tcp",
    ) as local:
        yield local.scheduler_address


def _site(origin: OriginServer, hosts: int, links: int, delay: float = 0.0) -> list[str]:
    urls = []
    for h in range(hosts):
        for n in range(links):
            url = f"http://host{h}.example/story/{n}"
            origin.add(
                url, Page(body=f"<html><p>Story {n} of host {h}, in full.</p></html>", delay=delay)
            )
            urls.append(url)
    origin.add(CANARY, Page(body="<p>up</p>"))
    return urls


def test_the_cluster_gives_the_verdicts_one_process_gives(
    origin: OriginServer, cluster: str, tmp_path: Path
) -> None:
    urls = _site(origin, 3, 3)
    origin.add("http://gone.example/a", Page(status=404, body="<h1>Not Found</h1>"))
    origin.add("http://wall.example/a", Page(status=403, body="<h1>Forbidden</h1>"))
    origin.add("http://down.example/a", Page(status=503, body="<h1>Busy</h1>"))
    origin.add("http://slow.example/a", Page(hang=True))
    urls += ["http://gone.example/a", "http://wall.example/a", "http://down.example/a"]
    urls += ["http://slow.example/a", "http://nowhere.example/a"]
    settings = sandbox_settings(origin, store=tmp_path / "warcs", timeout=1.0, fresh_for=0.0)
    here = {c.url: (c.verdict, c.http_status) for c in check_urls(urls, settings)}
    there = {
        c.url: (c.verdict, c.http_status)
        for c in check_urls(urls, settings.replace(cluster=cluster))
    }
    assert there == here
    assert {v.value for v, _ in here.values()} >= {"alive", "dead", "blocked", "timeout"}


def test_the_per_host_limit_holds_across_the_cluster(
    origin: OriginServer, cluster: str, tmp_path: Path
) -> None:
    urls = _site(origin, 6, 12, delay=0.2)
    settings = sandbox_settings(origin, store=tmp_path / "warcs", per_host=2, cluster=cluster)
    with open_state(settings) as state:
        results = check_urls(urls, settings, state=state)
    assert len(results) == len(urls) and all(r.verdict.value == "alive" for r in results)
    hosts = [f"host{h}.example" for h in range(6)]
    assert all(origin.peak_in_flight[h] <= 2 for h in hosts), origin.peak_in_flight
    assert max(origin.peak_in_flight[h] for h in hosts) == 2  # the limit was reached, not less
    with open_state(settings) as state:  # every verdict recorded by the client
        assert len(state.histories(urls)) == len(urls)


def test_a_worker_killed_mid_run_loses_nothing(
    origin: OriginServer, cluster: str, tmp_path: Path
) -> None:
    urls = _site(origin, 8, 4, delay=0.5)
    settings = sandbox_settings(origin, store=tmp_path / "warcs", per_host=1, cluster=cluster)
    client = distributed.Client(cluster, set_as_default=False)
    pids = client.run(os.getpid)
    killed: list[int] = []

    def kill_one_when_busy() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(origin.hits) < 4:
            time.sleep(0.02)
        pid = next(iter(pids.values()))
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    killer = threading.Thread(target=kill_one_when_busy)
    killer.start()
    try:
        results = check_urls(urls, settings)
    finally:
        killer.join()
        client.close()
    assert killed, "no worker was killed"
    assert sorted(r.url for r in results) == sorted(urls)
    assert all(r.verdict.value == "alive" for r in results)


def test_check_and_run_take_the_cluster_from_the_command_line(
    origin: OriginServer, cluster: str, tmp_path: Path
) -> None:
    urls = _site(origin, 2, 2)
    article = tmp_path / "article.md"
    article.write_text("".join(f"See [this]({url}).\n\n" for url in urls), encoding="utf-8")
    resolve = [f"--resolve={h}={a}" for h, a in origin.host_map().items()]
    args = ["--only-resolved", f"--resolve=canary.example={origin.address}", "--canary", CANARY]
    args += ["--store", str(tmp_path / "warcs"), *resolve]
    result = CliRunner().invoke(
        cli, ["check", str(article), "--format", "json", *args], env={"ARCHIVER_CLUSTER": cluster}
    )
    assert result.exit_code == 0, result.output
    assert sorted(r["url"] for r in json.loads(result.stdout)) == sorted(urls)
    again = ["check", str(article), "--cluster", "tcp://127.0.0.1:9", "--fresh-for", "0"]
    unreachable = CliRunner().invoke(cli, [*again, *args])
    assert unreachable.exit_code == 1
    assert unreachable.output.startswith("archiver: error: cannot reach the Dask scheduler"), (
        unreachable.output
    )
