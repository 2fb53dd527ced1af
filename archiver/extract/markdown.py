"""Markdown: links as the reader sees them, in paragraphs as the reader sees them.

A small reader of the CommonMark constructs that matter for citations, written here
because no Markdown library is a dependency and because we need what renderers throw
away: the source line of each link and the rendered text around it.

Read: inline links ``[text](url "title")``, reference links ``[text][ref]``,
``[text][]`` and ``[ref]`` with their ``[ref]: url`` definitions, autolinks
``<https://...>``, raw ``<a href>`` tags (Robust Links too), and URLs written out.
Skipped: images (``![alt](src)`` is not a citation), fenced and indented code blocks
and inline code, HTML comments. A link definition that no link uses is not a citation:
it has no place in the prose. Front matter (``---`` YAML or ``+++`` TOML) gives the
article's date and URL (``frontmatter``). Emphasis markers, heading hashes and list
bullets are removed from the text so the sentence around a link reads as rendered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from archiver.extract.bareurls import HTTP_AFTER_H, bare_url_at
from archiver.extract.blocks import BlockBuilder, BlockSink, Document, Link, first_lines, iter_lines
from archiver.extract.datetext import published_date_from_lines
from archiver.extract.frontmatter import front_matter
from archiver.extract.hrefs import resolve_href
from archiver.extract.markdownspans import (
    LINK_SCAN_LIMIT,
    Brackets,
    code_closer,
    inline_destination,
)
from archiver.extract.robustlinks import robust_link_in_tag

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]+|$)")
_RULE = re.compile(r"^ {0,3}(?:(?:=+)|(?:[-*_][ \t]*){3,})\s*$")
_BLOCKQUOTE = re.compile(r"^ {0,3}>[ ]?")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|$)")
_TABLE_DELIMITER = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
_INDENTED = re.compile(r"^(?: {4}|\t)")
_REFERENCE_DEFINITION = re.compile(
    r"^ {0,3}\[(?P<label>[^\]\n]{1,999})\]:[ \t]*(?:<(?P<angled>[^>\n]*)>|(?P<url>\S+))"
    r"(?:[ \t]+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?[ \t]*$"
)
_HEADER_LINES = 40
_FRONT_MATTER_LINES = 500  # as ``frontmatter`` reads at most

# Where the renderer has something to do: markup, or a URL written out ("h" only when
# "ttps://" follows). One character class first, for the scan's sake (``HTTP_AFTER_H``).
_SPECIAL = re.compile(rf"[\\`\[<*_~!hH](?:(?<=[hH])(?={HTTP_AFTER_H})|(?<![hH]))")
_ESCAPABLE = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_AUTOLINK = re.compile(r"<(https?://[^\s<>]*)>", re.IGNORECASE)
_EMAIL_AUTOLINK = re.compile(r"<([^\s<>@]+@[^\s<>@]+)>")
_ANCHOR_TAG = re.compile(
    r"<a\s[^<>]{0,1000}?\bhref\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))[^<>]{0,1000}>",
    re.IGNORECASE,
)
_ANCHOR_CLOSE = re.compile(r"</a\s*>", re.IGNORECASE)
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]{0,1000})?/?>")
_LABEL_DEPTH = 32
_LABEL_LIMIT = 999  # characters in a reference label

# Prose in which the renderer has nothing to do has no match of _NOT_PROSE (_SPECIAL or
# "]"). An inline link whose label is such prose and whose URL needs no unescaping and fits
# in LINK_SCAN_LIMIT is a _PROSE_LINK, "[label](url)". A paragraph of only prose and such
# links (most of them, in a link-dense article) is rendered by _InlineRenderer._prose.
_NOT_PROSE = re.compile(rf"[\\`\[\]<*_~!hH](?:(?<=[hH])(?={HTTP_AFTER_H})|(?<![hH]))")
_PROSE = r"[^\\`\[\]<*_~!h]*(?:h(?!ttps?://)[^\\`\[\]<*_~!h]*)*"
_PROSE_LINK = re.compile(rf"\[({_PROSE})\]\(([^\s()<\\]{{0,{LINK_SCAN_LIMIT - 2}}})\)", re.I)


def parse_markdown(
    text: str, page_url: str | None = None, sink: BlockSink | None = None
) -> Document:
    """``text`` as blocks; with ``sink``, each block goes to it as it is finished and the
    document returned has none (its lines are read as the parse goes, see ``iter_lines``)."""
    body_start, published, own_url = markdown_facts(text)
    definitions, definition_lines = _reference_definitions(text, body_start)
    renderer = _InlineRenderer(definitions, page_url or own_url, page_url or own_url)
    blocks = _BlockSplitter(renderer, sink)
    blocks.split(text, body_start, definition_lines)
    return Document(blocks.builder.blocks, published=published, url=own_url)


def markdown_facts(text: str) -> tuple[int, str | None, str | None]:
    """(index of the first body line, date, own URL): what the front matter says, the
    date else from the first lines of the body. Read from the first lines alone."""
    head = [line.rstrip("\r") for line in first_lines(text, _FRONT_MATTER_LINES + _HEADER_LINES)]
    body_start, published, own_url = front_matter(head)
    if published is None:
        header = head[body_start : body_start + _HEADER_LINES]
        published = published_date_from_lines([line.lstrip("*_># ") for line in header])
    return body_start, published, own_url


def _reference_definitions(text: str, start: int) -> tuple[dict[str, str], set[int]]:
    definitions: dict[str, str] = {}
    where: set[int] = set()
    fence: str | None = None
    for index, line in enumerate(iter_lines(text, start, strip_cr=True), start):
        if fence is None and (not line or line[0].isalpha()):
            continue  # neither a fence nor a definition: the commonest lines
        fence, in_code = _fence_state(line, fence)
        if in_code:
            continue
        match = _REFERENCE_DEFINITION.match(line)
        if match and not match.group("label").startswith("^"):
            label = _normalise_label(match.group("label"))
            url = match.group("angled") if match.group("angled") is not None else match.group("url")
            definitions.setdefault(label, _unescape(url))  # the first definition wins
            where.add(index)
    return definitions, where


def _fence_state(line: str, fence: str | None) -> tuple[str | None, bool]:
    """The open fence after ``line`` and whether ``line`` is code (or a fence line)."""
    if fence is not None:
        closing = _FENCE.match(line)
        if (
            closing
            and closing.group(1)[0] == fence[0]
            and len(closing.group(1)) >= len(fence)
            and not line.strip().lstrip(fence[0])
        ):
            return None, True
        return fence, True
    opening = _FENCE.match(line)
    if opening and not (
        opening.group(1)[0] == "`" and "`" in line.strip()[len(opening.group(1)) :]
    ):
        return opening.group(1), True
    return None, False


def _normalise_label(label: str) -> str:
    return " ".join(label.split()).casefold()


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


class _BlockSplitter:
    """Groups source lines into paragraphs, list items, headings, table rows and quotes."""

    def __init__(self, renderer: _InlineRenderer, sink: BlockSink | None = None) -> None:
        self.renderer = renderer
        self.builder = BlockBuilder(sink=sink)
        self.lines: list[str] = []
        self.first_line = 0
        self.kind = "paragraph"
        self.is_list_item = False
        self.after_list_item = False

    def split(self, text: str, start: int, definition_lines: set[int]) -> None:
        fence: str | None = None
        in_comment = False
        in_indented_code = False
        previous_blank = True
        for index, line in enumerate(iter_lines(text, start, strip_cr=True), start):
            if fence is None and not in_comment:
                # The two commonest lines, read without the checks below: a blank line,
                # and prose (no block construct starts with a letter).
                if not line:
                    self.flush()
                    previous_blank = True
                    continue
                if line[0].isalpha():
                    previous_blank = in_indented_code = False
                    if self.lines:
                        self.lines.append(line)
                    else:
                        self.start(line, index + 1)
                    continue
            number = index + 1
            fence, in_code = _fence_state(line, fence)
            if in_code:
                self.flush()
                previous_blank = False
                continue
            if in_comment:
                in_comment = "-->" not in line
                continue
            stripped = line.strip()
            if stripped.startswith("<!--") and "-->" not in stripped:
                self.flush()
                in_comment = True
                continue
            if not stripped:
                self.flush()
                previous_blank = True
                continue
            blank_before, previous_blank = previous_blank, False
            if index in definition_lines:
                self.flush()
                continue
            if in_indented_code and _INDENTED.match(line):
                continue
            in_indented_code = False
            if (
                not self.lines
                and blank_before
                and not self.after_list_item
                and _INDENTED.match(line)
            ):
                in_indented_code = True  # an indented code block, up to the next unindented line
                continue
            self.add_line(line, number)
        self.flush()

    def add_line(self, line: str, number: int) -> None:
        if _ATX_HEADING.match(line):
            self.flush()
            heading = re.sub(r"[ \t]+#+[ \t]*$", "", _ATX_HEADING.sub("", line, count=1))
            self.start(heading, number)
            self.flush()
        elif _RULE.match(line):
            self.flush()  # a thematic break, or the underline of a setext heading
        elif _BLOCKQUOTE.match(line):
            if self.kind != "blockquote":
                self.flush()
            content = line
            while _BLOCKQUOTE.match(content):
                content = _BLOCKQUOTE.sub("", content, count=1)
            if self.lines:
                self.lines.append(content)
            else:
                self.start(content, number, kind="blockquote")
        elif _LIST_ITEM.match(line):
            self.flush()
            self.start(_LIST_ITEM.sub("", line, count=1), number, list_item=True)
        elif line.lstrip().startswith("|"):
            self.flush()
            if not _TABLE_DELIMITER.match(line):
                self.start(line.strip().strip("|"), number)
                self.flush()
        elif self.lines:
            self.lines.append(line)  # a continuation, also of a quote ("lazy" lines)
        else:
            self.start(line.lstrip(), number)

    def start(
        self, content: str, number: int, kind: str = "paragraph", list_item: bool = False
    ) -> None:
        self.lines = [content]
        self.first_line = number
        self.kind = kind
        self.is_list_item = list_item

    def flush(self) -> None:
        if not self.lines:
            return
        text, found = self.renderer.render("\n".join(self.lines))
        line, counted_to = self.first_line, 0
        for link in found:  # in order of position, so lines can be counted incrementally
            line += text.count("\n", counted_to, link.start)
            counted_to = link.start
            link.line = line
        self.builder.add_block(text, self.first_line, found, self.kind)
        self.after_list_item = self.is_list_item
        self.lines = []
        self.kind = "paragraph"
        self.is_list_item = False


@dataclass(slots=True)
class _Output:
    """Rendered text being built, with the links found in it."""

    parts: list[str]
    length: int
    links: list[Link]

    def emit(self, text: str) -> None:
        if text:
            self.parts.append(text)
            self.length += len(text)


class _InlineRenderer:
    """Renders a paragraph's inline Markdown to plain text, recording where links are."""

    def __init__(self, definitions: dict[str, str], base: str | None, page: str | None) -> None:
        self.definitions = definitions
        self.base = base
        self.page = page
        self.label_depth = 0

    def render(self, source: str, links_allowed: bool = True) -> tuple[str, list[Link]]:
        if links_allowed:
            prose = self._prose(source)
            if prose is not None:
                return prose
        special = _SPECIAL.search(source)
        if special is None:  # plain text, as most link labels are
            return source, []
        out = _Output([], 0, [])
        closing_bracket = Brackets(source)
        failed_code_runs: set[int] = set()
        comment_unclosed = False
        position = 0
        while True:
            if position:  # the search from 0 is done above
                special = _SPECIAL.search(source, position)
            if special is None:
                out.emit(source[position:])
                break
            index = special.start()
            if index > position:  # out.emit, written out: once for each piece of markup
                out.parts.append(source[position:index])
                out.length += index - position
            char = source[index]
            if char == "\\":
                position = self._escape(source, index, out)
            elif char == "`":
                position = self._code_span(source, index, out, failed_code_runs)
            elif char == "!" and source.startswith("![", index):
                position = self._image(source, index, out, closing_bracket)
            elif char == "[":
                position = self._bracket(source, index, out, closing_bracket, links_allowed)
            elif char == "<":
                if source.startswith("<!--", index) and not comment_unclosed:
                    end = source.find("-->", index + 4)
                    if end >= 0:
                        out.emit("\n" * source.count("\n", index, end))
                        position = end + 3
                        continue
                    comment_unclosed = True
                position = self._angle(source, index, out, links_allowed)
            elif char in "*_~":
                position = self._emphasis(source, index, out)
            elif char in "hH" and links_allowed:
                url = bare_url_at(source, index)
                if url is None:
                    out.emit(char)
                    position = index + 1
                else:
                    self._add_link(out, url, url)
                    position = index + len(url)
            else:
                out.emit(special.group(0))
                position = special.end()
        return "".join(out.parts), out.links

    def _prose(self, source: str) -> tuple[str, list[Link]] | None:
        """``render(source)`` when ``source`` is only prose and prose links (each link's
        label is its text, and the rest is kept as it is), else None: at the first thing
        that is neither, which in a paragraph with other markup comes early."""
        special = _NOT_PROSE.search(source)
        if special is None:
            return source, []
        found: list[re.Match[str]] = []
        while special is not None:
            link = _PROSE_LINK.match(source, special.start())
            if link is None:
                return None
            found.append(link)
            special = _NOT_PROSE.search(source, link.end())
        parts: list[str] = []
        links: list[Link] = []
        length = position = 0
        for link in found:
            prose = source[position : link.start()]
            label = link.group(1)
            start = length + len(prose)
            length = start + len(label)
            parts += (prose, label)
            resolved = resolve_href(link.group(2), self.base, self.page)
            if resolved:
                links.append(Link(resolved, label, start, length, line=0))
            position = link.end()
        parts.append(source[position:])
        return "".join(parts), links

    def _add_link(self, out: _Output, href: str, text: str, tag: str | None = None) -> None:
        """Emit ``text`` as the anchor of a link to ``href`` (kept if it is a citation);
        ``tag`` is the raw ``<a>`` tag it came from, whose Robust Link attributes count."""
        start = out.length
        out.emit(text)
        robust = robust_link_in_tag(tag, href, self._resolve) if tag else None
        if robust is not None:
            out.links.append(robust.link(text, start, out.length, line=0))
            return
        resolved = self._resolve(href)
        if resolved:
            out.links.append(Link(resolved, text, start, out.length, line=0))

    def _resolve(self, href: str) -> str | None:
        return resolve_href(_unescape(href), self.base, self.page)

    def _escape(self, source: str, index: int, out: _Output) -> int:
        following = source[index + 1 : index + 2]
        if following and following in _ESCAPABLE:
            out.emit(following)
            return index + 2
        out.emit("\\")
        return index + 1

    def _code_span(self, source: str, index: int, out: _Output, failed: set[int]) -> int:
        run_end = index
        while run_end < len(source) and source[run_end] == "`":
            run_end += 1
        run = run_end - index
        if run not in failed:
            closer = code_closer(run).search(source, run_end)
            if closer:
                code = source[run_end : closer.start()]
                if code.startswith(" ") and code.endswith(" ") and code.strip():
                    code = code[1:-1]
                out.emit(code)
                return closer.end()
            failed.add(run)  # no later run of this length closes it either
        out.emit(source[index:run_end])
        return run_end

    def _image(self, source: str, index: int, out: _Output, closing: Brackets) -> int:
        label_end = closing.get(index + 1)
        if label_end is not None:
            after = label_end + 1
            if source.startswith("(", after):
                destination = inline_destination(source, after)
                if destination is not None:
                    out.emit("\n" * source.count("\n", index, destination[1]))
                    return destination[1]
            elif source.startswith("[", after):
                ref_end = source.find("]", after + 1, after + 1000)
                if ref_end >= 0:
                    out.emit("\n" * source.count("\n", index, ref_end))
                    return ref_end + 1
        out.emit("!")
        return index + 1

    def _bracket(
        self, source: str, index: int, out: _Output, closing: Brackets, links_allowed: bool
    ) -> int:
        label_end = closing.get(index)
        if label_end is None:
            out.emit("[")
            return index + 1
        label = source[index + 1 : label_end]
        after = label_end + 1
        href: str | None = None
        resume = after
        if source.startswith("(", after):
            destination = inline_destination(source, after)
            if destination is not None:
                href, resume = destination
        if href is None and source.startswith("[", after):
            ref_end = closing.get(after)
            if ref_end is not None:
                reference = source[after + 1 : ref_end] or label
                href = self._definition(reference)
                resume = ref_end + 1
        if href is None:
            href = self._definition(label)
            resume = after
        if href is None:
            out.emit("[")
            return index + 1
        rendered = self._label(label) if _SPECIAL.search(label) else label
        if links_allowed:
            self._add_link(out, href, rendered)
        else:
            out.emit(rendered)
        out.emit("\n" * source.count("\n", label_end, resume))
        return resume

    def _definition(self, label: str) -> str | None:
        """The URL that ``[label]: url`` defines, if any. A label is at most 999 characters
        (as CommonMark says, and as ``_REFERENCE_DEFINITION`` reads them): each of 100,000
        nested brackets would otherwise normalise the rest of the paragraph."""
        if not self.definitions or len(label) > _LABEL_LIMIT:
            return None
        return self.definitions.get(_normalise_label(label))

    def _label(self, source: str) -> str:
        """A link's label as rendered, links in it as text; labels within labels deeper
        than ``_LABEL_DEPTH`` stay as written (no recursion limit, no quadratic time)."""
        if self.label_depth >= _LABEL_DEPTH:
            return source
        self.label_depth += 1
        rendered = self.render(source, links_allowed=False)[0]
        self.label_depth -= 1
        return rendered

    def _angle(self, source: str, index: int, out: _Output, links_allowed: bool) -> int:
        autolink = _AUTOLINK.match(source, index)
        if autolink:
            url = autolink.group(1)
            if links_allowed:
                self._add_link(out, url, url)
            else:
                out.emit(url)
            return autolink.end()
        email = _EMAIL_AUTOLINK.match(source, index)
        if email:
            out.emit(email.group(1))
            return email.end()
        anchor = _ANCHOR_TAG.match(source, index)
        if anchor:
            close = _ANCHOR_CLOSE.search(source, anchor.end(), anchor.end() + LINK_SCAN_LIMIT)
            if close:
                href = next(group for group in anchor.groups() if group is not None)
                inner = self._label(source[anchor.end() : close.start()])
                if links_allowed:
                    self._add_link(out, href, inner, anchor.group(0))
                else:
                    out.emit(inner)
                return close.end()
        tag = _TAG.match(source, index)
        if tag:
            out.emit("\n" * tag.group(0).count("\n"))
            return tag.end()
        out.emit("<")
        return index + 1

    def _emphasis(self, source: str, index: int, out: _Output) -> int:
        char = source[index]
        end = index
        while end < len(source) and source[end] == char:
            end += 1
        before = source[index - 1] if index > 0 else " "
        after = source[end] if end < len(source) else " "
        run = source[index:end]
        if char == "~":
            if len(run) < 2:
                out.emit(run)
            return end
        if char == "_" and before.isalnum() and after.isalnum():
            out.emit(run)  # snake_case, not emphasis
        elif before.isspace() and after.isspace():
            out.emit(run)  # "2 * 3"
        return end
