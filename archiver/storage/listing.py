"""What the manifest lists for a capture just written: its ``Capture`` and a row per
record (``archiver.storage.store`` commits them)."""

from __future__ import annotations

from archiver.storage.digests import payload_sha1_base32
from archiver.storage.entries import Capture, RecordEntry
from archiver.storage.sources import Obtained, stored_redirect
from archiver.storage.warcwriter import WrittenRecord
from archiver.storage.wholepage import requisite_entries

__all__ = ["manifest_entries"]


def _digest_match(part: Obtained) -> bool | None:
    digest = part.archive_digest
    return None if digest is None else payload_sha1_base32(part.fetched.raw_body) == digest


def manifest_entries(
    name: str, obtained: Obtained, written: list[WrittenRecord], citations: tuple[str, ...]
) -> tuple[Capture, tuple[RecordEntry, ...]]:
    """The capture and the record rows that list the WARC file ``name`` in the manifest:
    one row per record; the capture is the page's response, its captured redirects and its
    requisites listed."""
    fetched, digest = obtained.fetched, obtained.archive_digest
    parts = obtained.parts()
    responses = [w for w in written if w.type == "response"]
    assert len(responses) == len(parts)
    page = len(obtained.captured_redirects)
    response = responses[page]
    match = _digest_match(obtained)
    of_response = {w.record_id: part for w, part in zip(responses, parts, strict=True)}
    capture = Capture(
        url=obtained.url,
        target_uri=obtained.target_uri,
        warc_date=obtained.warc_date,
        source=obtained.source,
        source_uri=fetched.final_url,
        creation_date=obtained.creation_date,
        warc_file=name,
        record_id=response.record_id,
        offset=response.offset,
        http_status=fetched.status,
        payload_sha256=response.payload_sha256,
        payload_length=response.payload_length,
        truncated=fetched.truncated,
        redirects=obtained.redirects,
        archive=obtained.archive,
        memento_datetime=obtained.memento_datetime,
        archive_original=obtained.archive_original,
        archive_digest=digest,
        archive_digest_match=match,
        citations=citations,
        listed_datetime=obtained.listed_datetime,
        captured_redirects=tuple(
            stored_redirect(part, record)
            for part, record in zip(obtained.captured_redirects, responses, strict=False)
        ),
        requisites=(
            *requisite_entries(name, obtained, responses[page + 1 :]),
            *obtained.requisites_shared,
        ),
        requisites_left_out=obtained.requisites_left_out,
    )
    return capture, tuple(_record_row(capture, w, of_response.get(w.record_id)) for w in written)


def _record_row(
    capture: Capture, written: WrittenRecord, response_of: Obtained | None
) -> RecordEntry:
    """The manifest row of one record of ``capture``; ``response_of`` is what a response
    record stores."""
    return RecordEntry(
        file=capture.warc_file,
        offset=written.offset,
        length=written.length,
        type=written.type,
        record_id=written.record_id,
        target_uri=written.target_uri,
        warc_date=written.warc_date,
        payload_sha256=written.payload_sha256,
        payload_length=written.payload_length,
        citations=capture.citations,
        archive_digest=response_of.archive_digest if response_of is not None else None,
        archive_digest_match=_digest_match(response_of) if response_of is not None else None,
        capture_record_id=capture.record_id,
    )
