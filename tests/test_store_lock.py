"""The store's inter-process lock: held on the store directory itself, so that no lock
file sits among the files an archivist preserves (see archiver.storage.store)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from archiver.storage.store import Store


def test_a_process_holding_the_store_directory_lock_holds_writers_back(tmp_path: Path) -> None:
    fcntl = pytest.importorskip("fcntl", reason="the inter-process lock is fcntl.flock (POSIX)")
    root = tmp_path / "store"
    root.mkdir()
    held = os.open(root, os.O_RDONLY)  # another open file description, as another process
    fcntl.flock(held, fcntl.LOCK_EX)
    opened = threading.Event()

    def open_store() -> None:
        Store(root)  # opening reconciles under the lock
        opened.set()

    thread = threading.Thread(target=open_store, daemon=True)
    thread.start()
    try:
        assert not opened.wait(0.5)  # waits for the lock
    finally:
        os.close(held)  # releases it
    assert opened.wait(10)
    thread.join(10)
    assert list(root.iterdir()) == []  # and no lock file was made


def test_the_lock_file_of_an_older_version_is_left_as_it_was(tmp_path: Path) -> None:
    # A bag or checksum list made of an older store may list it: it is not deleted.
    root = tmp_path / "store"
    root.mkdir()
    (root / ".lock").write_bytes(b"")
    Store(root)
    assert [p.name for p in root.iterdir()] == [".lock"]
