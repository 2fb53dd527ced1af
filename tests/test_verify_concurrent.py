"""verify while another process writes to the store: a consistent snapshot, never a false
problem (issue 12: a file a run had just renamed into place was an ``unknown-file``, and
a run's own report could say that its verification failed).

The writer is a real process capturing pages from its own origin server on loopback into
the store, as ``archiver archive`` does, while this process verifies the store again and
again, plain and deep, through the library and through ``archiver verify``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from click.testing import CliRunner

from archiver.cli.main import cli
from archiver.storage.manifest import read_manifest
from archiver.storage.store import Store
from archiver.storage.verify import VerifyReport, verify_store

ROOT = Path(__file__).resolve().parents[1]

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from archiver.config import Settings
    from archiver.net.http import build_session
    from archiver.demo.simweb.origin import OriginServer, Page
    from archiver.storage.store import Store

    root, count = Path(sys.argv[1]), int(sys.argv[2])
    urls = [f"http://busy.example/page/{n}" for n in range(count)]
    with OriginServer() as origin:
        for n, url in enumerate(urls):
            origin.add(url, Page(body=f"<p>page {n} of a store being written</p>" * 400))
        settings = Settings(host_map=origin.host_map(), resolve_only=True, timeout=5, retries=0)
        session = build_session(settings)
        store = Store(root, warc_size=40_000)  # files appended to, then rolled, all along
        for url in urls:
            store.capture_live(url, session, settings, [url])
            print("captured", url, flush=True)
    """
)


def test_verify_while_another_process_writes_sees_a_consistent_snapshot(
    tmp_path: Path,
) -> None:
    root = tmp_path / "store"
    Store(root)
    count = 60
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), str(count)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    assert writer.stdout.readline().startswith("captured")  # the store has a manifest now
    reports: list[VerifyReport] = []
    logged_exits: list[int] = []
    while writer.poll() is None:
        reports.append(verify_store(root, deep=len(reports) % 2 == 1))
        logged_exits.append(CliRunner().invoke(cli, ["verify", str(root)]).exit_code)
    _, errors = writer.communicate(timeout=60)
    assert writer.returncode == 0, errors

    problems = [(p.check, p.message) for r in reports for p in r.problems]
    assert problems == []
    assert set(logged_exits) == {0}
    # the writer really was at work: the verifications saw the store at many sizes
    assert len({r.bytes_checked for r in reports}) >= 3
    assert min(r.files_checked for r in reports) < max(r.files_checked for r in reports)
    runs = json.loads(
        CliRunner().invoke(cli, ["verify", "--history", "--format", "json", str(root)]).stdout
    )
    assert [r["ok"] for r in runs] == [True] * len(logged_exits)

    final = verify_store(root)  # and, the writer done, everything it wrote
    manifest = read_manifest(root)
    assert manifest is not None
    assert (final.ok, len(manifest.captures)) == (True, count)
    assert final.files_checked == len(manifest.files) > 1  # rolled at --warc-size
