"""What the repair tests share: a run's results made for an article, and the check that
only the edited spans of the article's bytes changed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from archiver.extract import Article, extract_citations, parse_article_bytes
from archiver.models import LinkCheck, Memento, Selection, Verdict
from archiver.pipeline import CitationResult
from archiver.repair.article import Repair, repair_article
from archiver.repair.plan import Change, RepairOptions

NOW = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)
IA = "https://web.archive.org/web/"


def ia_memento(url: str, stamp: str = "20150304050607") -> Memento:
    when = datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return Memento(
        original=url,
        datetime=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        archive="ia",
        url=f"{IA}{stamp}/{url}",
        raw_url=f"{IA}{stamp}id_/{url}",
        http_status=200,
    )


def results_for(
    article: Article,
    verdicts: Mapping[str, Verdict],
    mementos: Mapping[str, Memento | None] | None = None,
    *,
    confirmed: bool = True,
) -> list[CitationResult]:
    """The article's citations with the verdict ``verdicts`` gives their URL (alive when
    not named) and the memento ``mementos`` gives (an IA one when not named)."""
    results = []
    for citation in extract_citations(article.text, article.fmt, source=article.source):
        if citation.url is None:
            results.append(CitationResult(citation))
            continue
        verdict = verdicts.get(citation.url, Verdict.ALIVE)
        check = LinkCheck(
            citation.url,
            verdict,
            404 if verdict is Verdict.DEAD else 200,
            citation.url,
            "HTTP 404" if verdict is Verdict.DEAD else f"{verdict.value} (test)",
            "2026-12-05T09:30:00Z",
            confirmed=confirmed and verdict.is_failure,
        )
        memento = (mementos or {}).get(citation.url, ia_memento(citation.url))
        selection = Selection(memento, "closest" if memento else "no capture")
        results.append(CitationResult(citation, check, selection))
    return results


def repaired(
    data: bytes,
    name: str,
    verdicts: Mapping[str, Verdict],
    mementos: Mapping[str, Memento | None] | None = None,
    **options: object,
) -> tuple[Article, Repair]:
    article = parse_article_bytes(data, name)
    results = results_for(article, verdicts, mementos)
    repair = repair_article(data, article, results, RepairOptions(now=NOW, **options))  # type: ignore[arg-type]
    assert_only_edits_differ(data, article.text, repair.data, repair.changes)
    return article, repair


def assert_only_edits_differ(
    original: bytes, text: str, written: bytes, changes: Sequence[Change]
) -> None:
    """Every byte written outside the edited spans is the byte read: the bytes written are
    the original bytes with each change's ``before`` (found at its offset) swapped for its
    ``after``, and nothing else."""
    edited = sorted((c for c in changes if c.after is not None), key=lambda c: c.offset or 0)
    pieces, cursor = [], 0
    for change in edited:
        assert change.offset is not None and change.before is not None and change.after
        assert text[change.offset : change.offset + len(change.before)] == change.before
        assert change.offset >= cursor, "edits overlap"
        pieces += [text[cursor : change.offset], change.after]
        cursor = change.offset + len(change.before)
    pieces.append(text[cursor:])
    expected = "".join(pieces)
    encoding = "utf-8"
    bom = b"\xef\xbb\xbf" if original.startswith(b"\xef\xbb\xbf") else b""
    if bom + text.encode(encoding) != original:
        encoding = "cp1252"
        assert text.encode(encoding) == original
    assert written == bom + expected.encode(encoding)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="")
    return path
