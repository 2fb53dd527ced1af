"""Repairing wikitext as InternetArchiveBot does (archiver.repair.wikitext).

The article is real wikitext in the shapes Wikipedia holds: CS1 templates written in
three spacing styles, a bare ``[url text]`` with a ``{{dead link}}``, an opt-out with
``{{cbignore}}``, a template that already has an archive, a blocked link. Every test also
checks that no byte outside the edited spans changed (``repaired`` does).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from archiver.models import Memento, Verdict
from tests.repair_helpers import IA, ia_memento, repaired

DEAD, BLOCKED, SOFT = Verdict.DEAD, Verdict.BLOCKED, Verdict.SOFT_404

HISTORY = "https://history.example.org/millbrook"
RAISED = "http://paper.example.com/1961/raised"
SPILL = "http://spill.example.net/works"
FISH = "http://fish.example.net/ladder"
GAUGE = "http://gauge.example.net/"
DESIGNS = "http://ladders.example.org/designs"
GONE = "http://gone.example.org/x"
BLOCKED_URL = "https://blocked.example.com/a"
KEPT = "http://kept.example.org/report"

ARTICLE = (Path(__file__).parent / "fixtures" / "articles" / "dam-citations.wiki").read_text()

EVERY_DEAD = {url: DEAD for url in (HISTORY, RAISED, SPILL, FISH, GAUGE, DESIGNS, GONE, KEPT)}


def copy(url: str) -> str:
    return f"{IA}20150304050607/{url}"


def test_cs1_templates_get_archive_url_date_and_status_in_their_own_style() -> None:
    _, repair = repaired(ARTICLE.encode(), "dam.wiki", {**EVERY_DEAD, BLOCKED_URL: BLOCKED})
    lines = repair.text.splitlines()
    # spaced "|name=value": after access-date, the date in the template's own style (dmy)
    assert lines[2] == (
        "The '''Millbrook Dam''' is a [[gravity dam]].<ref name=\"hist\">{{cite web "
        f"|url={HISTORY} |title=Building the dam |access-date=12 March 2016 "
        f"|archive-url={copy(HISTORY)} |archive-date=4 March 2015 |url-status=dead}}}}</ref>"
    )
    # one parameter a line, names padded to one width: so are the new ones; ISO date kept
    assert lines[3:12] == [
        "It was raised in 1961.<ref>{{Cite news",
        f"| url         = {RAISED}",
        "| title       = Dam raised",
        "| work        = The Millbrook Post",
        "| access-date = 2017-07-04",
        f"| archive-url = {copy(RAISED)}",
        "| archive-date = 2015-03-04",
        "| url-status  = dead",
        "}}</ref> The spillway was rebuilt.<ref>{{cite web|url=http://spill.example.net/works"
        "|title=Works|website=Spill|accessdate=July 5, 2017"
        f"|archiveurl={copy(SPILL)}|archivedate=March 4, 2015|dead-url=yes}}}}</ref>",
    ]


def test_empty_archive_parameters_are_filled_where_they_stand() -> None:
    _, repair = repaired(ARTICLE.encode(), "dam.wiki", EVERY_DEAD)
    assert (
        f"{{{{cite web |url={GONE} |title=Gone |archive-url={copy(GONE)} "
        "|archive-date=4 March 2015 |url-status=dead}}"
    ) in repair.text


def test_a_bare_link_gets_webarchive_in_place_of_its_dead_link_tag() -> None:
    _, repair = repaired(ARTICLE.encode(), "dam.wiki", EVERY_DEAD)
    assert repair.text.splitlines()[12] == (
        f"The fish pass<ref>[{FISH} Fish ladder report] "
        f"{{{{webarchive |url={copy(FISH)} |date=4 March 2015}}}}</ref> and the gauge"
        f"<ref>[{GAUGE} Gauge]{{{{cbignore}}}}</ref> date from 1988."
    )


def test_a_dead_link_with_no_copy_is_tagged_with_the_month_and_the_bot() -> None:
    _, repair = repaired(ARTICLE.encode(), "dam.wiki", EVERY_DEAD, {DESIGNS: None})
    assert repair.text.splitlines()[13].startswith(
        f"See {DESIGNS}{{{{dead link |date=December 2026 |bot=archiver}}}}.<ref>"
    )
    change = next(c for c in repair.changes if c.url == DESIGNS)
    assert (change.action, change.before, change.after) == (
        "tagged-dead",
        "",
        "{{dead link |date=December 2026 |bot=archiver}}",
    )


def test_cbignore_an_existing_archive_and_a_blocked_link_are_left_alone() -> None:
    _, repair = repaired(ARTICLE.encode(), "dam.wiki", {**EVERY_DEAD, BLOCKED_URL: BLOCKED})
    kept = {c.url: (c.action, c.reason) for c in repair.changes if c not in repair.changed}
    assert kept == {
        GAUGE: ("kept", "left alone: {{cbignore}} follows it"),
        BLOCKED_URL: ("kept", "blocked: not dead (blocked (test))"),
        KEPT: (
            "already-archived",
            "already links an archived copy (--replace-archived replaces it)",
        ),
    }
    assert f"[{GAUGE} Gauge]{{{{cbignore}}}}</ref>" in repair.text
    assert f"{{{{cite web |url={BLOCKED_URL} |title=Blocked}}}}" in repair.text


def test_an_existing_archive_is_replaced_only_when_asked() -> None:
    newer = ia_memento(KEPT, "20120607080910")
    _, repair = repaired(
        ARTICLE.encode(), "dam.wiki", EVERY_DEAD, {KEPT: newer}, replace_archived=True
    )
    assert (
        f"{{{{cite web |url={KEPT} |title=Report |archive-url={IA}20120607080910/{KEPT} "
        "|archive-date=7 June 2012 |url-status=dead}}"
    ) in repair.text


def test_all_marks_a_live_source_live() -> None:
    _, repair = repaired(ARTICLE.encode(), "dam.wiki", {}, every_citation=True)
    assert f"|archive-url={copy(HISTORY)} |archive-date=4 March 2015 |url-status=live}}" in (
        repair.text
    )
    assert "|archivedate=March 4, 2015|dead-url=no}}" in repair.text
    assert {c.action for c in repair.changes if c.url == HISTORY} == {"archived-live"}


def test_soft_404_counts_as_dead() -> None:
    _, repair = repaired(ARTICLE.encode(), "dam.wiki", {HISTORY: SOFT})
    assert [(c.url, c.action) for c in repair.changes if c in repair.changed] == [
        (HISTORY, "archived")
    ]


def test_nobots_keeps_every_citation_as_it_is() -> None:
    text = "{{bots|deny=archiver}}\n" + ARTICLE
    _, repair = repaired(text.encode(), "dam.wiki", EVERY_DEAD)
    assert repair.text == text
    assert {c.reason for c in repair.changes if c.url == HISTORY} == {
        "the article opts out of bots ({{bots|deny=archiver}})"
    }


def test_a_reference_defined_in_the_reference_list_is_found_where_it_is_written() -> None:
    text = (
        "Used here.<ref name=a />\n\n== References ==\n{{reflist|refs=\n"
        f"<ref name=a>{{{{cite web|url={HISTORY}|title=T}}}}</ref>\n}}}}\n"
    )
    _, repair = repaired(text.encode(), "refs.wiki", {HISTORY: DEAD})
    added = f"|archive-url={copy(HISTORY)}|archive-date=2015-03-04|url-status=dead"
    assert repair.text == text.replace("|title=T}}", added + "|title=T}}")


def test_a_webarchive_date_follows_the_articles_date_style() -> None:
    text = f"{{{{use mdy dates}}}}\nSee [{FISH} the ladder].\n"
    memento = Memento(FISH, "2015-03-04T05:06:07Z", "ia", copy(FISH), copy(FISH))
    _, repair = repaired(text.encode(), "mdy.wiki", {FISH: DEAD}, {FISH: memento})
    assert repair.text == (
        f"{{{{use mdy dates}}}}\nSee [{FISH} the ladder]"
        f"{{{{webarchive |url={copy(FISH)} |date=March 4, 2015}}}}.\n"
    )


A = "http://x.example/a"
COPY_A = f"{IA}20150304050607/{A}"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            f"{{{{cite web |url={A}}}}}",
            f"{{{{cite web |url={A} |archive-url={COPY_A} |archive-date=2015-03-04 "
            "|url-status=dead}}",
        ),
        (
            f"{{{{cite web|url={A}}}}}",
            f"{{{{cite web|url={A}|archive-url={COPY_A}|archive-date=2015-03-04"
            "|url-status=dead}}",
        ),
        (
            f"{{{{cite web | url = {A} | title = T }}}}",
            f"{{{{cite web | url = {A} | archive-url = {COPY_A} | archive-date = 2015-03-04 "
            "| url-status = dead | title = T }}",
        ),
        (
            f"{{{{cite web|\nurl={A}|\ntitle=y}}}}",
            f"{{{{cite web|\nurl={A}|\narchive-url={COPY_A}|\narchive-date=2015-03-04|\n"
            "url-status=dead|\ntitle=y}}",
        ),
        (
            f"{{{{cite web\n  | url = {A}\n  | title = T\n}}}}",
            f"{{{{cite web\n  | url = {A}\n  | archive-url = {COPY_A}\n"
            "  | archive-date = 2015-03-04\n  | url-status = dead\n  | title = T\n}}",
        ),
        (
            f"{{{{cite web\n  | url = {A}\n}}}}",
            f"{{{{cite web\n  | url = {A}\n  | archive-url = {COPY_A}\n"
            "  | archive-date = 2015-03-04\n  | url-status = dead\n}}",
        ),
    ],
    ids=["one-spaced", "one-tight", "spaced", "pipe-at-line-end", "indented", "indented-one"],
)
def test_new_parameters_take_the_spacing_the_template_has(template: str, expected: str) -> None:
    _, repair = repaired(f"A.<ref>{template}</ref>\n".encode(), "a.wiki", {A: DEAD})
    assert repair.text == f"A.<ref>{expected}</ref>\n"


def test_a_status_only_an_editor_can_judge_is_left_alone() -> None:
    text = f"A.<ref>{{{{cite web |url={A} |title=T |url-status=usurped}}}}</ref>\n"
    _, repair = repaired(text.encode(), "a.wiki", {A: DEAD})
    assert repair.text == text
    assert [c.reason for c in repair.changes] == [
        "url-status=usurped is the editor's call: left as it is"
    ]
