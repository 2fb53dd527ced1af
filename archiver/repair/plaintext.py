"""Repairing plain text, and the markers every format shares.

A "[link no longer available]" marker (any of ``archiver.extract.markers``' phrases) whose
link was recovered becomes that link and its archived copy, in the format's own words
(``MARKER_FORMS``); a URL written out in the text gets its archived copy after it. A
marker is matched to its citation by its words and line, a URL by itself and its line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from archiver.extract.bareurls import find_bare_urls
from archiver.extract.markers import find_markers
from archiver.repair.edits import Edit, LineIndex, cited_key, match_spots
from archiver.repair.plan import RepairOptions, Target

MARKER_FORMS = {
    "text": "{url} (archived copy: {memento})",
    "markdown": "<{url}> ([archived copy]({memento}))",
    "html": '<a href="{url}" data-versionurl="{memento}" data-versiondate="{date}">{url}</a>',
}
NOT_FOUND = "not found in the article where the citation says it is"


def marker_key(marker: str) -> str:
    return "marker:" + " ".join(marker.split()).lower()


def marker_spots(text: str, lines: LineIndex) -> list[tuple[str, int, tuple[int, int]]]:
    """(key, line, span) of every marker in ``text`` (masked text: offsets are kept)."""
    return [
        (marker_key(words), lines.line_of(start), (start, end))
        for start, end, words in find_markers(text)
    ]


def target_key(target: Target) -> str:
    """What a target is looked up by: its marker if it was one, else its URL."""
    citation = target.citation
    if target.action == "restore" and citation.marker is not None:
        return marker_key(citation.marker)
    return citation.url or ""


def edit_plain_text(
    text: str, targets: Sequence[Target], options: RepairOptions, page_url: str | None
) -> list[tuple[Edit | None, str]]:
    """Markers restored, and " (archived copy: URL)" after each URL repaired."""
    lines = LineIndex(text)
    found: list[tuple[str, int, tuple[int, int]]] = marker_spots(text, lines)
    found += [
        (cited_key(url), lines.line_of(start), (start, end))
        for start, end, url in find_bare_urls(text)
    ]
    keys = [(target_key(t), t.citation.line) for t in targets]
    outcomes: list[tuple[Edit | None, str]] = []
    for target, spot in zip(targets, match_spots(keys, found), strict=True):
        if spot is None:
            outcomes.append((None, NOT_FOUND))
        elif target.action == "restore":
            outcomes.append(restore_marker(target, spot, MARKER_FORMS["text"], lambda s: s))
        elif target.action == "tag-dead":
            outcomes.append((None, "no archived copy found"))
        elif target.citation.archive_url:  # --replace-archived: the archive link itself
            assert target.memento is not None
            outcomes.append((Edit(*spot, target.memento), "its archive link replaced"))
        else:
            note = f" (archived copy: {target.memento})"
            outcomes.append((Edit(spot[1], spot[1], note), "its archived copy added after it"))
    return outcomes


def restore_marker(
    target: Target, span: tuple[int, int], form: str, escape: Callable[[str], str]
) -> tuple[Edit, str]:
    """The marker at ``span`` replaced by ``form`` filled with the recovered link."""
    assert target.memento is not None and target.citation.url is not None
    date = (target.memento_date or "")[:10]
    filled = form.format(
        url=escape(target.citation.url), memento=escape(target.memento), date=escape(date)
    )
    return Edit(span[0], span[1], filled), "the removed link put back, with its archived copy"
