"""Every WARC a test writes is read by the two tools archivists will use on it.

``warcio check`` verifies each record's block and payload digests; pywb's indexer (the
one ``wb-manager reindex`` runs, with its options) says what replay will see: one line
per response record, the metadata and request records left out.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest

WARCIO = Path(sys.executable).with_name("warcio")


def warcio_check(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(WARCIO), "check", "-v", *map(str, paths)], capture_output=True, text=True, timeout=120
    )


def pywb_index(path: Path) -> list[tuple[str, str, str]]:
    """(url, timestamp, status) of each line pywb's indexer makes of ``path``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # pywb imports "cgi"
            from pywb.indexer.archiveindexer import DefaultRecordParser
    except ImportError:
        pytest.skip("pywb is not installed (pip install 'archiver[test]')")
    parser = DefaultRecordParser(cdxj=True, append_post=True)
    with path.open("rb") as stream:
        return [(e["url"], e["timestamp"], e["status"]) for e in parser(stream)]


def accepted(path: Path) -> list[tuple[str, str, str]]:
    """Assert ``warcio check`` passes ``path``; return what pywb indexes of it."""
    return all_accepted([path])[0]


def all_accepted(paths: list[Path]) -> list[list[tuple[str, str, str]]]:
    """``accepted`` for several files, with one ``warcio check`` run."""
    assert paths, "no WARC file to check"
    result = warcio_check(*paths)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "digest fail" not in result.stdout
    return [pywb_index(path) for path in paths]
