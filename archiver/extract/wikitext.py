"""Wikitext: citation templates, external links and dead-link tags, as on Wikipedia.

Parsed with mwparserfromhell, because citation templates nest (a title with a
``{{lang}}`` in it, a ``{{dead link}}`` inside a ``<ref>``) and regexes get that wrong.
An article made only of the plainest shapes (text, ``[url title]``, bare URLs,
``<ref>{{cite ...}}</ref>``, ``{{dead link}}``, ``[[links]]``, ``''italics''``) is read
by ``wikiscan`` in one linear pass instead, and rendered by the same handlers: the
citations are the same, without mwparserfromhell's tree of objects (28 s for 200,000
references). Any other markup, and the article goes to mwparserfromhell whole.

- ``{{cite web}}``, ``{{cite news}}``, any ``{{cite ...}}`` and ``{{citation}}`` give
  url, title (the anchor text), ``access-date`` (the citation date), ``archive-url`` /
  ``archive-date``, ``quote``; ``url-status=dead`` (or the older ``dead-url=yes``) is
  kept as the marker, as written.
- ``[http://x text]``, bare URLs, ``{{URL}}`` and ``{{official website}}`` are links;
  ``[[wikilinks]]`` are not (they stay on the wiki) and render as their text.
- ``{{dead link}}`` (and its aliases) right after a link marks that link dead; on its own
  it is a marker citation without a URL. ``{{webarchive}}`` / ``{{wayback}}`` after a
  link give that link its archive copy.
- A ``<ref>`` takes no room in the rendered text, so its citations get the sentence the
  footnote is attached to as their context. So do footnote templates (``{{efn}}``,
  ``{{refn}}``) and references defined in a list (``{{reflist|refs=}}``, ``<references>``)
  at the place the article uses them (``<ref name=x />``, ``{{r|x}}``); a list-defined
  reference the article never uses is still a citation, with no sentence.
- Other templates are read for the citations in their fields. A template laid out one
  field a line (an infobox, a ``{{plainlist}}``) is a box: each field is a block of its
  own, so a reference in ``| opening = 1934<ref>...</ref>`` has "1934" as its context.
  An inline template (``{{nowrap|...}}``) renders as nothing, and the citations in it
  sit where it stands in the sentence. ``{{quote}}``-style templates render as a
  blockquote whose own references quote it.
- An image's caption that holds citations is a block of its own.

mwparserfromhell leaves what lies deeper than its nesting limit (about 33 templates or
99 tags) unparsed, as text; such text is parsed again on its own, up to
``_MAX_REPARSES`` times over and within ``wikicost``'s time budget, beyond which the
article is refused with a one-line ``InputError`` rather than read in part. So is text
the parser would spend hours on (thousands of ``{{x|`` or ``<div>`` that nothing
closes), before it is parsed. The walk keeps its own stack, so no depth of nesting
reaches Python's recursion limit; mwparserfromhell's own recursion does, over a few
hundred ``{{{arguments}}}`` nested (which its nesting limit leaves alone), and that text
is refused in one line too.

Wikitext has no publication date of its own; citations without an access date get none.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import mwparserfromhell
from mwparserfromhell.nodes import (
    ExternalLink,
    Heading,
    HTMLEntity,
    Tag,
    Template,
    Text,
    Wikilink,
)
from mwparserfromhell.parser import ParserError
from mwparserfromhell.wikicode import Wikicode

from archiver.archives.urls import parse_archive_url
from archiver.errors import InputError
from archiver.extract import wikiscan
from archiver.extract.bareurls import trim_url
from archiver.extract.blocks import BlockBuilder, Document, Link, Marker
from archiver.extract.datetext import parse_date
from archiver.extract.markers import DEAD_LINK_TEMPLATES
from archiver.extract.plaintext import parse_plain_text
from archiver.extract.wikicost import PARSE_BUDGET, deep_braces, parse_cost
from archiver.extract.wikinodes import (
    absolute_url,
    attribute_text,
    cites,
    closing_length,
    dead_status,
    dead_status_of,
    first_text,
    image_caption,
    is_ref,
    laid_out_as_box,
    may_hold_markup,
    opening_length,
    param_text,
    url_template,
)
from archiver.extract.wikiscan import NotPlain, pieces

_LIST_MARKUP = frozenset({"*", "#", ":", ";"})
_NOT_PROSE_WORDS = """
    gallery math chem score syntaxhighlight source pre code timeline
    templatedata imagemap graph mapframe hiero poem categorytree
"""
_NOT_PROSE = frozenset(_NOT_PROSE_WORDS.split())
_BLOCK_TAGS = frozenset({"table", "tr", "td", "th", "caption", "p", "div", "center", "ul", "ol"})
_HIDDEN_LINK_PREFIXES = ("file:", "image:", "category:", "media:")
_IMAGE_PREFIXES = ("file:", "image:")
_QUOTE_TEMPLATES = frozenset({"quote", "blockquote", "cquote", "quote box", "quotation"})
_ARCHIVE_TEMPLATES = frozenset({"webarchive", "wayback", "web archive"})
_URL_TEMPLATES = frozenset({"url"})
_OFFICIAL_TEMPLATES = frozenset({"official website", "official site", "officialwebsite"})
_FOOTNOTE_TEMPLATES = frozenset({"efn", "efn-ua", "efn-lr", "efn-lg", "efn-la", "refn", "notetag"})
_REF_USE_TEMPLATES = frozenset({"r"})
_TITLE_PARAMETERS = ("title", "script-title", "trans-title", "chapter", "website", "work")
_NEWLINE = re.compile("\n")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*|\n")
_LIST_DEFINED = re.compile(r"\|\s*refs\s*=|<references[^<>/]*>", re.IGNORECASE)

# Text this deep in the tree may be markup the parser gave up on (see the docstring).
_REPARSE_DEPTH = 20
_MAX_REPARSES = 20
# Where a refusal for {{{arguments}}} nested past Python's recursion limit says it starts.
_DEEP_BRACES = 100


def parse_wikitext(text: str) -> Document:
    try:
        return read_plain(text)
    except NotPlain:
        return parse_with_mwparserfromhell(text)  # from the start


def parse_with_mwparserfromhell(text: str) -> Document:
    """Any wikitext, as its tree says (what ``parse_wikitext`` does when ``wikiscan``
    cannot read the article)."""
    cost = parse_cost(text)
    if cost.seconds > PARSE_BUDGET:
        line = text.count("\n", 0, cost.first_unclosed or 0) + 1
        raise InputError(
            f"line {line}: wikitext too tangled to read: {cost.unclosed:,} templates, links,"
            " tags or tables are never closed (the first on this line)"
        )
    try:
        code = mwparserfromhell.parse(text)
        walker = _Walker(text)
        if _LIST_DEFINED.search(text):
            walker.find_list_defined_refs(code.nodes)
        walker.walk(code.nodes, 0)
    except ParserError:  # never seen in practice; plain text still finds URLs and markers
        return parse_plain_text(text)
    except RecursionError:  # mwparserfromhell builds and prints {{{arguments}}} by recursion
        line = text.count("\n", 0, deep_braces(text, _DEEP_BRACES)) + 1
        raise InputError(
            f"line {line}: wikitext nested deeper than archiver reads (more than"
            f" {_DEEP_BRACES} levels of templates and arguments)"
        ) from None
    walker.builder.flush()
    return Document(walker.builder.blocks)


def read_plain(text: str) -> Document:
    """The article read by ``wikiscan``, rendered by the walker's own handlers; raises
    ``NotPlain`` when mwparserfromhell must read it."""
    if _LIST_DEFINED.search(text):
        raise NotPlain(0)
    walker = _Walker(text)
    builder = walker.builder
    line_starts = walker.line_starts
    for piece in pieces(text):
        if isinstance(piece, wikiscan.Text):
            value = text[piece.start : piece.end]
            if "\n" in value:
                walker.text(value, piece.start)
            else:  # what walker.text does with a text in no paragraph break, at depth 0
                builder.add_text(value, bisect.bisect_right(line_starts, piece.start))
        elif isinstance(piece, wikiscan.ExternalLink):
            walker.link(piece.url, piece.title, piece.brackets, piece.start)
        elif isinstance(piece, wikiscan.RefBoundary):
            builder.silent += 1 if piece.opens else -1
        elif isinstance(piece, wikiscan.CiteTemplate):
            get = piece.fields.get
            walker.add_citation(
                lambda *names, get=get: first_text(get, names), dead_status_of(get), piece.start
            )
        elif isinstance(piece, wikiscan.PageLink):
            walker.page_link(piece.page, piece.label, piece.start)
        else:
            walker.dead_link(text[piece.start : piece.end], piece.start)
    builder.flush()
    return Document(builder.blocks)


@dataclass(frozen=True)
class _Into:
    """Walk ``nodes``, which start at ``offset`` in the source, before the next step.

    ``depth`` counts the nodes around them in their parse; ``reparses`` how many times
    the text they came from was parsed again, and ``levels`` the depth it had reached.
    """

    nodes: Sequence[Any]
    offset: int
    depth: int
    reparses: int = 0
    levels: int = 0


_Step = _Into | Callable[[], None]
_NO_STEPS: tuple[_Step, ...] = ()


class _Walker:
    """Renders the parse tree into blocks.

    A node's handler does what comes before its children at once and returns the rest
    as steps: the children to walk (``_Into``) and what to do after them (callables).
    ``walk`` runs the steps from a stack of its own.
    """

    def __init__(self, text: str) -> None:
        self.builder = BlockBuilder()
        self.lengths: dict[int, int] = {}
        self.line_starts = [0] + [match.end() for match in _NEWLINE.finditer(text)]
        self.ends_at_newline = False  # list items, table rows and headings end at a newline
        self.at = _Into((), 0, 0)  # where the node being handled is
        self.defined: dict[tuple[str, str], tuple[Any, int]] = {}  # list-defined refs
        self.definition_keys: dict[int, tuple[str, str]] = {}  # id of each of those -> key
        self.placed: set[int] = set()  # ids of list-defined refs read where they are used
        self.reparsed: list[Any] = []  # kept alive: lengths are memoised by id()

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.line_starts, offset)

    def walk(self, nodes: Sequence[Any], offset: int) -> None:
        pending: list[Iterator[_Step]] = [self.steps(_Into(nodes, offset, 0))]
        while pending:
            step = next(pending[-1], None)
            if step is None:
                pending.pop()
            elif isinstance(step, _Into):
                pending.append(self.steps(step))
            else:
                step()

    def steps(self, into: _Into) -> Iterator[_Step]:
        offset = into.offset
        for node in into.nodes:
            self.at = into
            yield from self.node(node, offset)
            offset += self.length(node)

    def into(self, nodes: Sequence[Any], offset: int) -> _Into:
        """Children of the node being handled."""
        at = self.at
        return _Into(nodes, offset, at.depth + 1, at.reparses, at.levels)

    def length(self, node: Any) -> int:
        """``len(str(node))``, without re-serialising nested tags and templates at every
        level: measured from their parts with memoised children, the walk stays linear in
        the size of the input however deeply the markup nests."""
        key = id(node)
        known = self.lengths.get(key)
        if known is None:
            if isinstance(node, Tag) and not node.self_closing and node.contents is not None:
                known = (
                    opening_length(node) + self.code_length(node.contents) + closing_length(node)
                )
            elif isinstance(node, Template):
                known = 4 + self.code_length(node.name)
                for param in node.params:
                    known += 1 + self.code_length(param.value)
                    if param.showkey:
                        known += self.code_length(param.name) + 1
            else:
                known = len(str(node))
            self.lengths[key] = known
        return known

    def code_length(self, code: Any) -> int:
        return sum(self.length(node) for node in code.nodes)

    def node(self, node: Any, offset: int) -> Sequence[_Step]:
        if isinstance(node, Text):
            return self.text(str(node), offset)
        if isinstance(node, Tag):
            return self.tag(node, offset)
        if isinstance(node, Template):
            return self.template(node, offset)
        if isinstance(node, ExternalLink):
            self.external_link(node, offset)
        elif isinstance(node, Wikilink):
            return self.wikilink(node, offset)
        elif isinstance(node, Heading):
            self.new_block()
            return [self.into(node.title.nodes, offset + node.level), self.new_block]
        elif isinstance(node, HTMLEntity):
            self.builder.add_text(node.normalize(), self.line_of(offset))
        # Comments, arguments ({{{1}}}) and anything newer render as nothing.
        return _NO_STEPS

    def text(self, value: str, offset: int) -> Sequence[_Step]:
        if self.at.depth >= _REPARSE_DEPTH and may_hold_markup(value):
            again = self.reparse(value, offset)
            if again is not None:
                return [again]
        if "\n" not in value:  # most texts: no paragraph to break
            self.builder.add_text(value, self.line_of(offset))
            return _NO_STEPS
        position = 0
        for match in _PARAGRAPH_BREAK.finditer(value):
            self.builder.add_text(value[position : match.start()], self.line_of(offset + position))
            if self.ends_at_newline or match.group(0).count("\n") > 1:
                self.new_block()
            else:
                self.builder.add_text("\n", self.line_of(offset + match.start()))
            position = match.end()
        self.builder.add_text(value[position:], self.line_of(offset + position))
        return _NO_STEPS

    def reparse(self, value: str, offset: int) -> _Into | None:
        """Text the parser may have left unparsed for its depth, parsed on its own."""
        at = self.at
        levels = at.levels + at.depth
        if at.reparses >= _MAX_REPARSES or parse_cost(value).seconds > PARSE_BUDGET:
            raise InputError(
                f"line {self.line_of(offset)}: wikitext nested deeper than archiver reads"
                f" (more than {levels} levels of templates and tags)"
            )
        try:
            code = mwparserfromhell.parse(value)
        except ParserError:
            return None
        if len(code.nodes) == 1 and isinstance(code.nodes[0], Text):
            return None  # it was only text
        self.reparsed.append(code)
        return _Into(code.nodes, offset, 0, at.reparses + 1, levels)

    def new_block(self, kind: str = "paragraph") -> None:
        self.builder.flush(next_kind=kind)
        self.ends_at_newline = False

    def silently(self, steps: list[_Step]) -> list[_Step]:
        """``steps`` with the builder silent, as inside a footnote: links, no text."""
        self.builder.silent += 1
        steps.append(self.end_silence)
        return steps

    def end_silence(self) -> None:
        self.builder.silent -= 1

    def tag(self, node: Any, offset: int) -> Sequence[_Step]:
        name = str(node.tag).strip().lower()
        if node.wiki_markup in _LIST_MARKUP:
            self.new_block()
            self.ends_at_newline = True
            return _NO_STEPS
        if name == "ref":
            return self.ref(node, offset)
        if name in _NOT_PROSE or node.self_closing or node.contents is None:
            if name in ("br", "hr"):
                self.builder.add_text(" ", self.line_of(offset))
            return _NO_STEPS
        into = self.into(node.contents.nodes, offset + opening_length(node))
        if name == "blockquote":
            self.new_block("blockquote")
            return [into, self.new_block]
        if name in _BLOCK_TAGS or name == "references":
            self.new_block()
            return [into, self.new_block]
        return [into]

    def ref(self, node: Any, offset: int) -> Sequence[_Step]:
        if node.self_closing or node.contents is None or not str(node.contents).strip():
            return self.use_ref(attribute_text(node, "group"), attribute_text(node, "name"))
        if id(node) in self.placed:
            return _NO_STEPS
        key = self.definition_keys.pop(id(node), None)
        if key is not None:  # a list-defined reference read where it is written: unused
            self.defined.pop(key, None)
        return self.silently([self.into(node.contents.nodes, offset + opening_length(node))])

    def use_ref(self, group: str, name: str) -> Sequence[_Step]:
        """A named reference's first use reads its definition, when a list holds it."""
        found = self.defined.pop((group, name), None)
        if found is None:
            return _NO_STEPS
        definition, offset = found
        self.placed.add(id(definition))
        contents_offset = offset + opening_length(definition)
        return self.silently([self.into(definition.contents.nodes, contents_offset)])

    def find_list_defined_refs(self, nodes: Sequence[Any]) -> None:
        """Note the references that ``{{reflist|refs=}}`` and ``<references>`` define at
        the top level of the article, so that each is read where it is first used."""
        offset = 0
        for node in nodes:
            if isinstance(node, Template) and node.has("refs"):
                group = param_text(node, "group")
                for param, value_offset in self.params_at(node, offset):
                    if str(param.name).strip() == "refs":
                        self.define_refs(param.value.nodes, value_offset, group)
            elif (
                isinstance(node, Tag)
                and str(node.tag).strip().lower() == "references"
                and not node.self_closing
                and node.contents is not None
            ):
                contents_offset = offset + opening_length(node)
                self.define_refs(
                    node.contents.nodes, contents_offset, attribute_text(node, "group")
                )
            offset += self.length(node)

    def define_refs(self, nodes: Sequence[Any], offset: int, group: str) -> None:
        for node in nodes:
            if isinstance(node, Tag) and str(node.tag).strip().lower() == "ref":
                name = attribute_text(node, "name")
                if name and node.contents is not None and str(node.contents).strip():
                    key = (attribute_text(node, "group") or group, name)
                    if key not in self.defined:
                        self.defined[key] = (node, offset)
                        self.definition_keys[id(node)] = key
            offset += self.length(node)

    def params_at(self, node: Any, offset: int) -> list[tuple[Any, int]]:
        """Each parameter of a template with the source offset of its value."""
        found = []
        position = offset + 2 + self.code_length(node.name)
        for param in node.params:
            position += 1
            if param.showkey:
                position += self.code_length(param.name) + 1
            found.append((param, position))
            position += self.code_length(param.value)
        return found

    def external_link(self, node: Any, offset: int) -> None:
        title = node.title.strip_code().strip() if node.title is not None else None
        self.link(str(node.url), title, node.brackets, offset)

    def link(self, written: str, title: str | None, brackets: bool, offset: int) -> None:
        """``[url title]`` or a free link (no ``brackets``), ``title`` as plain text."""
        raw = written.strip()
        url = absolute_url(raw if brackets else trim_url(raw))
        title = (title or "").strip()
        shown = title or ("" if brackets else raw)
        self.add_link(url, shown, title or url, offset)

    def add_link(self, url: str | None, shown: str, text: str | None, offset: int) -> None:
        """``shown`` as rendered text, and the link on it when there is a URL."""
        start = self.builder.position
        line = self.line_of(offset)
        self.builder.add_text(shown, line)
        if url:
            self.builder.add_link(Link(url, text or url, start, self.builder.position, line))

    def wikilink(self, node: Any, offset: int) -> Sequence[_Step]:
        title = str(node.title).strip().lstrip(":")
        text_offset = offset + 2 + len(str(node.title)) + 1
        if not title.lower().startswith(_HIDDEN_LINK_PREFIXES):
            if node.text is None or not cites(node.text.nodes):
                label = None if node.text is None else str(node.text.strip_code())
                self.page_link(str(node.title), label, offset)
            else:  # the label, then its footnotes (which strip_code would spell out)
                shown = [n for n in node.text.nodes if not is_ref(n)]
                self.builder.add_text(Wikicode(shown).strip_code().strip(), self.line_of(offset))
                return self.silently([self.into(node.text.nodes, text_offset)])
        elif node.text is not None and title.lower().startswith(_IMAGE_PREFIXES):
            caption, caption_offset = image_caption(node.text.nodes, text_offset)
            if cites(caption):
                self.new_block()
                return [self.into(caption, caption_offset), self.new_block]
        return _NO_STEPS

    def page_link(self, title: str, label: str | None, offset: int) -> None:
        """A ``[[wikilink]]`` that is not hidden, ``label`` as plain text: what it shows."""
        shown = title.strip().lstrip(":") if label is None else label.strip()
        self.builder.add_text(shown, self.line_of(offset))

    def dead_link(self, written: str, offset: int) -> None:
        position = self.builder.position
        self.builder.add_marker(Marker(written, position, position, self.line_of(offset)))

    def template(self, node: Any, offset: int) -> Sequence[_Step]:
        name = " ".join(str(node.name).replace("_", " ").split()).lower()
        name = name.removeprefix("template:")
        if name.startswith("cite") or name == "citation":
            self.cite(node, offset)
        elif name in DEAD_LINK_TEMPLATES:
            self.dead_link(str(node), offset)
        elif name in _ARCHIVE_TEMPLATES:
            self.archive_copy(node, name)
        elif name in _QUOTE_TEMPLATES:
            return self.quotation(node, offset)
        elif name in _URL_TEMPLATES:
            url, shown = url_template(node)
            self.add_link(url, shown, shown, offset)
        elif name in _OFFICIAL_TEMPLATES:
            url = absolute_url(param_text(node, "1", "url", raw=True))
            shown = param_text(node, "name") or "Official website"
            self.add_link(url, shown, shown, offset)
        elif name in _REF_USE_TEMPLATES:
            group = param_text(node, "group", "g")
            names = [str(p.value).strip() for p in node.params if not p.showkey]
            return [step for used in names for step in self.use_ref(group, used)]
        elif node.params:
            box = name not in _FOOTNOTE_TEMPLATES and laid_out_as_box(node, name)
            fields = self.params_at(node, offset)
            if box:
                steps: list[_Step] = [self.new_block]
                for param, value_offset in fields:
                    steps += [self.into(param.value.nodes, value_offset), self.new_block]
                return steps
            return self.silently([self.into(p.value.nodes, o) for p, o in fields])
        return _NO_STEPS

    def quotation(self, node: Any, offset: int) -> Sequence[_Step]:
        """A blockquote of the quoted text; references in the template quote it."""
        quote = param_text(node, "text", "quote", "1")
        if not quote:
            return self.silently(
                [self.into(p.value.nodes, o) for p, o in self.params_at(node, offset)]
            )
        self.new_block("blockquote")
        self.builder.add_text(quote, self.line_of(offset))
        first = self.builder.link_count

        def attribute_quote() -> None:
            cited = self.builder.links_since(first)
            for link in cited:
                link.quote = link.quote or quote
            if cited:
                self.builder.mark_quote_cited()
            self.new_block()

        steps = self.silently(
            [self.into(p.value.nodes, o) for p, o in self.params_at(node, offset)]
        )
        return [*steps, attribute_quote]

    def cite(self, node: Any, offset: int) -> None:
        self.add_citation(lambda *names: param_text(node, *names), dead_status(node), offset)

    def add_citation(self, text_of: Callable[..., str], marker: str | None, offset: int) -> None:
        """A ``{{cite ...}}`` whose fields ``text_of`` reads (the first of the names given
        that is set, as plain text), ``marker`` its ``url-status=dead`` if any."""
        url_text = text_of("url", "chapter-url", "chapterurl") or ""
        archive_url = text_of("archive-url", "archiveurl") or None
        url = absolute_url(url_text) or (absolute_url(archive_url) if archive_url else None)
        if url is None:
            return
        title = text_of(*_TITLE_PARAMETERS)
        access = text_of("access-date", "accessdate", "access_date")
        archive_date = text_of("archive-date", "archivedate")
        archived_day = parse_date(archive_date) if archive_date else None
        line = self.line_of(offset)
        start = self.builder.position
        self.builder.add_text(title or "", line)
        self.builder.add_link(
            Link(
                url,
                title or url,
                start,
                self.builder.position,
                line,
                quote=text_of("quote") or None,
                accessed=parse_date(access) if access else None,
                archive_url=archive_url,
                archived_at=f"{archived_day}T00:00:00Z" if archived_day else None,
                marker=marker,
            )
        )

    def archive_copy(self, node: Any, name: str) -> None:
        """Give the link just before ``{{webarchive}}``/``{{wayback}}`` its archived copy."""
        link = self.builder.last_link
        if link is None or link.archive_url:
            return
        url = param_text(node, "url", "1")
        date = param_text(node, "date", "2")
        if not url:
            return
        if name == "wayback":  # url= is the original; date= a Wayback timestamp
            stamp = date if date and date.isdigit() else "*"
            archive_url = f"https://web.archive.org/web/{stamp}/{url}"
        else:
            archive_url = url
        parsed = parse_archive_url(archive_url)
        link.archive_url = archive_url
        link.archived_at = parsed.archived_at if parsed else None
