"""The report people read: one self-contained HTML page for a run.

Rendered from the run's JSON document (``FinishedRun.to_dict``, what ``report.json``
holds), so the page and the file never disagree and a report written by an earlier version
can be rendered again. The page has no external assets and no script; a Content Security
Policy forbids any, so even text that got past the escaping could not run. Everything from
articles and pages (sentences, titles, quotes, URLs, reasons) is untrusted: it is escaped
for the place it goes, and only http(s) URLs become links.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import urlsplit

_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'"
)

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:72rem;
 padding:1rem 1.5rem;color:#1b1b1b}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
.meta{color:#555;font-size:.9rem}
.cards{display:flex;flex-wrap:wrap;gap:.6rem;margin:1rem 0}
.card{border:1px solid #ddd;border-radius:6px;padding:.4rem .8rem;min-width:7rem}
.card b{display:block;font-size:1.3rem}
.citation{border:1px solid #ddd;border-left:6px solid #999;border-radius:6px;
 padding:.6rem .9rem;margin:.8rem 0}
.citation.bad{border-left-color:#c62828}.citation.good{border-left-color:#2e7d32}
.citation.unsure{border-left-color:#ef6c00}
.sentence{font-style:italic;margin:.3rem 0}
.badge{display:inline-block;border-radius:4px;padding:0 .4rem;font-size:.85rem;
 font-weight:600;background:#eee}
.badge.bad{background:#ffcdd2}.badge.good{background:#c8e6c9}.badge.unsure{background:#ffe0b2}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .8rem;margin:.4rem 0}
dt{color:#555}dd{margin:0;overflow-wrap:anywhere}
mark{background:#fff59d}
.notes{color:#555;font-size:.9rem;margin:.3rem 0 0 1rem;padding:0}
code{font-size:.9em}
"""

_BAD = frozenset({"dead", "soft-404", "altered", "not-found", "drifted"})
_GOOD = frozenset({"alive", "verbatim", "equivalent", "archived", "archived-live", "restored"})


def _text(value: object) -> str:
    return "" if value is None else escape(str(value), quote=True)


def _link(url: object, label: object = None) -> str:
    """A link for http(s) URLs only; anything else (javascript:, data:, file:) is text."""
    if not isinstance(url, str):
        return _text(label)
    shown = _text(url if label is None else label)
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return shown
    return f'<a href="{_text(url)}" rel="noreferrer noopener">{shown}</a>'


def _tone(verdict: object) -> str:
    return "bad" if verdict in _BAD else "good" if verdict in _GOOD else "unsure"


def _badge(verdict: object) -> str:
    return f'<span class="badge {_tone(verdict)}">{_text(verdict)}</span>'


def _rows(pairs: Iterable[tuple[str, str]]) -> str:
    shown = [(k, v) for k, v in pairs if v]
    if not shown:
        return ""
    return "<dl>" + "".join(f"<dt>{_text(k)}</dt><dd>{v}</dd>" for k, v in shown) + "</dl>"


def render_html(report: Mapping[str, Any]) -> str:
    """The whole page for a run's JSON document."""
    article = report.get("article") or "article"
    results: Sequence[Mapping[str, Any]] = report.get("results") or ()
    extras = citation_extras(report)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>archiver report: {_text(article)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        _header(report),
        f"<h2>Citations ({len(results)})</h2>",
        *(
            _citation(number, result, *extras(result.get("citation") or {}))
            for number, result in enumerate(results, 1)
        ),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _header(report: Mapping[str, Any]) -> str:
    summary: Mapping[str, Any] = report.get("summary") or {}
    cards = [
        ("citations", summary.get("citations")),
        ("dead", summary.get("dead")),
        ("recovered", summary.get("recovered")),
        ("with a memento", summary.get("with_memento")),
        ("captures", summary.get("captures")),
    ]
    verdicts = [
        f"{_badge(key.removeprefix('verdict_'))} {_text(value)}"
        for key, value in summary.items()
        if key.startswith("verdict_")
    ]
    quoted: Mapping[str, Any] = report.get("quote_summary") or {}
    if quoted.get("quotes"):
        verdicts.append(
            "quotes: "
            + " · ".join(
                f"{_badge(key)} {_text(value)}"
                for key, value in quoted.items()
                if key != "quotes" and value
            )
        )
    verification = report.get("verification")
    if verification is None:
        stored = "nothing stored"
    elif verification.get("ok"):
        stored = f"verified: {_text(verification.get('records_checked'))} record(s)"
    else:
        stored = f"FAILED verification: {len(verification.get('problems') or ())} problem(s)"
    notes = "".join(f"<li>{_text(note)}</li>" for note in report.get("notes") or ())
    return (
        f"<header><h1>{_text(report.get('article'))}</h1>"
        f'<p class="meta">run {_text(report.get("started_at"))} – '
        f"{_text(report.get('finished_at'))} · store <code>{_text(report.get('store'))}</code>"
        f" · {stored}</p>"
        '<div class="cards">'
        + "".join(
            f'<div class="card"><b>{_text(value)}</b>{_text(name)}</div>'
            for name, value in cards
            if value is not None
        )
        + "</div>"
        + (f"<p>verdicts: {' · '.join(verdicts)}</p>" if verdicts else "")
        + (f'<ul class="notes">{notes}</ul>' if notes else "")
        + "</header>"
    )


Extras = tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]


def citation_extras(report: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], Extras]:
    """For a citation of the run, its quote's check (the run's ``quotes``, tied by URL,
    line and quote) and what ``run --repair`` did to it (``repair``, by URL and line)."""
    quotes = {(q.get("url"), q.get("line"), q.get("quote")): q for q in report.get("quotes") or ()}
    repairs = {(c.get("url"), c.get("line")): c for c in report.get("repair") or ()}

    def of(citation: Mapping[str, Any]) -> Extras:
        where = (citation.get("url"), citation.get("line"))
        return quotes.get((*where, citation.get("quote"))), repairs.get(where)

    return of


def _summary_lines(verdicts: list[str]) -> list[str]:
    """The link verdicts on one line, the quotes' on another."""
    links = [v for v in verdicts if not v.startswith("quotes: ")]
    quotes = [v for v in verdicts if v.startswith("quotes: ")]
    return (["verdicts: " + " · ".join(links)] if links else []) + quotes


def _citation(
    number: int,
    result: Mapping[str, Any],
    quote: Mapping[str, Any] | None,
    repair: Mapping[str, Any] | None,
) -> str:
    citation: Mapping[str, Any] = result.get("citation") or {}
    check: Mapping[str, Any] = result.get("check") or {}
    verdict = check.get("verdict") or ("removed" if not citation.get("url") else "not checked")
    title = citation.get("text") or citation.get("marker") or citation.get("url") or "citation"
    head = (
        f'<section class="citation {_tone(verdict)}" id="c{number}">'
        f"<div>{number}. {_badge(verdict)} <b>{_text(title)}</b> "
        f'<span class="meta">line {_text(citation.get("line"))}</span></div>'
        f'<p class="sentence">{_sentence(citation)}</p>'
    )
    rows = _rows(
        [
            ("cited URL", _link(citation.get("url"))),
            ("cited on", _text(citation.get("cited_at"))),
            ("verdict", _evidence(check)),
            ("archived copy", _memento(result.get("selection"))),
            ("stored", _captures(result.get("captures") or ())),
            ("recovered", _recovery(result.get("recovery"))),
            ("quote", _quote(citation, quote)),
            ("repair", _repair(repair)),
        ]
    )
    notes = "".join(f"<li>{_text(note)}</li>" for note in result.get("notes") or ())
    return head + rows + (f'<ul class="notes">{notes}</ul>' if notes else "") + "</section>"


def _sentence(citation: Mapping[str, Any]) -> str:
    """The citation's sentence with its link's text marked, all escaped."""
    context = str(citation.get("context") or "")
    anchor = str(citation.get("text") or citation.get("marker") or "")
    at = context.find(anchor) if anchor else -1
    if at < 0:
        return _text(context)
    end = at + len(anchor)
    return f"{_text(context[:at])}<mark>{_text(anchor)}</mark>{_text(context[end:])}"


def _evidence(check: Mapping[str, Any]) -> str:
    if not check:
        return ""
    bits = [_badge(check.get("verdict"))]
    if check.get("confirmed"):
        bits.append("confirmed")
    reason = str(check.get("reason") or "")
    if check.get("http_status") is not None and not reason.startswith("HTTP"):
        bits.append(f"HTTP {_text(check.get('http_status'))}")
    bits.append(_text(check.get("reason")))
    final = check.get("final_url")
    if final and final != check.get("url"):
        bits.append("→ " + _link(final))
    bits.append(f'<span class="meta">checked {_text(check.get("checked_at"))}</span>')
    return " · ".join(bit for bit in bits if bit)


def _memento(selection: Mapping[str, Any] | None) -> str:
    if not selection:
        return ""
    memento = selection.get("memento")
    reason = _text(selection.get("reason"))
    if not memento:
        return f"none: {reason}"
    return (
        f"{_link(memento.get('url'), memento.get('datetime'))} "
        f'<span class="meta">({_text(memento.get("archive"))})</span> · {reason}'
    )


def _captures(captures: Sequence[Mapping[str, Any]]) -> str:
    return "<br>".join(
        f"{_text(c.get('source'))} of {_text(c.get('warc_date'))} in "
        f"<code>{_text(c.get('warc_file'))}</code>"
        for c in captures
    )


def _recovery(recovery: Mapping[str, Any] | None) -> str:
    if not recovery:
        return ""
    return f"{_link(recovery.get('url'))} · {_text(recovery.get('reason'))}"


def _quote(citation: Mapping[str, Any], quote: Mapping[str, Any] | None) -> str:
    """The quoted passage, and what the run found for it (``archiver.quotes``): the
    verdict in the archived copy, the passage found there (marked), what differs, a link
    that highlights it, and the live page's verdict and drift."""
    text = citation.get("quote")
    if not text:
        return ""
    shown = f"“{_text(text)}”"
    if not quote:
        return shown
    bits = [shown, _badge(quote.get("verdict"))]
    archived: Mapping[str, Any] = quote.get("archived") or {}
    if quote.get("verdict") not in ("verbatim", "not-checked"):
        bits.append(f"score {_text(quote.get('score'))}")
    passage: Mapping[str, Any] = archived.get("passage") or {}
    if passage.get("exact"):
        bits.append(
            f"in the archived copy: …{_text(passage.get('before'))}"
            f"<mark>{_text(passage.get('exact'))}</mark>{_text(passage.get('after'))}…"
        )
    changes = [change.get("shown") for change in archived.get("changes") or ()]
    if changes:
        bits.append("differs: " + ", ".join(f"<code>{_text(c)}</code>" for c in changes))
    if archived.get("reason") and quote.get("verdict") == "not-checked":
        bits.append(_text(archived.get("reason")))
    if archived.get("link"):
        bits.append(_link(archived.get("link"), "highlight it in the archived copy"))
    live: Mapping[str, Any] = quote.get("live") or {}
    if live.get("verdict"):
        bits.append(f"live page: {_badge(live.get('verdict'))}")
    drift: Mapping[str, Any] = quote.get("drift") or {}
    if quote.get("drifted"):
        bits.append(
            f"{_badge('drifted')} the live page no longer holds it "
            f"({_text(drift.get('changed_percent'))}% of its text changed)"
        )
    return " · ".join(bits)


def _repair(change: Mapping[str, Any] | None) -> str:
    """What ``run --repair`` did to the citation (``archiver.repair.plan.Change``)."""
    if not change:
        return ""
    shown = f"{_badge(change.get('action'))} {_text(change.get('reason'))}"
    before, after = change.get("before"), change.get("after")
    if before is not None and after is not None:
        shown += f"<br><code>{_text(before)}</code><br>→ <code>{_text(after)}</code>"
    return shown
