"""The quotes stage on its own (archiver.quotes): a page's reader text, the words compared,
each verdict with its evidence, and drift, on pages given as bytes."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from archiver.models import Citation, Memento
from archiver.quotes.evidence import fragment_link, text_fragment, text_quote_selector
from archiver.quotes.match import PageWords, find_quote
from archiver.quotes.pagetext import page_charset, reader_text
from archiver.quotes.verify import Page, Unread, check_quote
from archiver.quotes.words import parse_quote, words_of

SOURCE = "http://news.example/2018/report"
MEMENTO = Memento(
    original=SOURCE,
    datetime="2018-11-20T09:00:00Z",
    archive="wayback:http://archive.test/web/",
    url=f"http://archive.test/web/20181120090000/{SOURCE}",
    raw_url=f"http://archive.test/web/20181120090000id_/{SOURCE}",
    http_status=200,
)
REPORT = (
    "<html><head><title>Q3 report</title><style>p{color:red}</style></head><body>"
    "<nav>Home | About</nav>"
    "<p>The council said the harbour sensors were installed in 1998 and have "
    "&ldquo;never failed&rdquo; since &mdash; a record for the coast.</p>"
    "<p>Costs rose to 1,250,000 euros in the third quarter.</p>"
    "<script>document.write('the harbour sensors were installed in 1999')</script>"
    "<div hidden>the harbour sensors were installed in 2001</div>"
    "</body></html>"
)


def verdict_of(quote: str, html: str = REPORT, **options: bool) -> tuple[str, list[str]]:
    text = reader_text(html.encode(), "text/html; charset=utf-8")
    assert text is not None
    finding = find_quote(parse_quote(quote), PageWords(words_of(text)), **options)
    return finding.verdict, [change.shown for change in finding.changes]


def test_reader_text_is_what_a_reader_sees() -> None:
    text = reader_text(REPORT.encode(), "text/html")
    assert text == (
        "Home | About\n"
        "The council said the harbour sensors were installed in 1998 and have “never "
        "failed” since — a record for the coast.\n"
        "Costs rose to 1,250,000 euros in the third quarter."
    )


def test_reader_text_hides_what_is_hidden_and_joins_inline_words() -> None:
    html = (
        '<body><p>Vis<b>ible</b> text<span style="display: none"> and secret</span>'
        '<span aria-hidden="true"> and icons</span><noscript>enable JS</noscript>'
        "<template>later</template>.<br>Next line with <q>a short quote</q>.</p>"
        "<select><option>menu</option></select></body>"
    )
    assert reader_text(html.encode(), "text/html") == (
        "Visible text.\nNext line with “a short quote”."
    )
    assert reader_text(b"\x89PNG...", "image/png") is None
    assert reader_text(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", None) is None
    assert reader_text(b"plain  words\r\nover lines", None) == "plain words\nover lines"


@pytest.mark.parametrize(
    ("body", "content_type", "charset"),
    [
        ("café".encode("cp1252"), "text/html; charset=windows-1252", "cp1252"),
        ("café".encode("cp1252"), "text/html; charset=ISO-8859-1", "cp1252"),
        ('<meta charset="shift_jis"><p>テスト'.encode("shift_jis"), "text/html", "shift_jis"),
        (
            b'<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">'
            + "испытание".encode("koi8-r"),
            "text/html",
            "koi8-r",
        ),
        ("\ufeffcafé".encode("utf-8"), "text/html; charset=latin-1", "utf-8"),  # BOM wins
        ("café".encode(), "text/html", "utf-8"),
        ("café".encode("cp1252"), "text/html; charset=no-such-charset", "cp1252"),
    ],
)
def test_the_page_is_decoded_in_its_declared_or_detected_charset(
    body: bytes, content_type: str, charset: str
) -> None:
    assert page_charset(body, content_type) == charset


def test_a_latin1_page_keeps_its_accents() -> None:
    body = "<p>Le conseil a dit : « les capteurs du port ont été installés ».</p>".encode("latin-1")
    text = reader_text(body, "text/html; charset=iso-8859-1")
    assert text == "Le conseil a dit : « les capteurs du port ont été installés »."
    verdict, _ = verdict_of("les capteurs du port ont été installés", body.decode("latin-1"))
    assert verdict == "verbatim"


@pytest.mark.parametrize(
    "quote",
    [
        "the harbour sensors were installed in 1998",
        'have "never failed" since - a record',  # straight quotes and a hyphen for the dash
        "The council said the   harbour\nsensors were installed",  # whitespace
        "sensors were installed in 1998 [...] a record for the coast",  # an ellipsis
        "sensors … a record",
        "[T]he harbour sensors were installed",  # an editor's capital
        "[the sensors] were installed in 1998",  # an editorial insertion
        "the harbour sensors [sic] were installed in 1998",
    ],
)
def test_verbatim(quote: str) -> None:
    assert verdict_of(quote) == ("verbatim", [])


@pytest.mark.parametrize(
    ("quote", "forms"),
    [
        ("The Council said the harbour sensors", ("case",)),
        ("installed in 1998, and have never failed", ("punctuation",)),
        ("COSTS ROSE TO 1,250,000 EUROS", ("case",)),
    ],
)
def test_equivalent_says_which_form_differs(quote: str, forms: tuple[str, ...]) -> None:
    text = reader_text(REPORT.encode(), "text/html")
    assert text is not None
    finding = find_quote(parse_quote(quote), PageWords(words_of(text)))
    assert (finding.verdict, finding.forms, finding.score) == ("equivalent", forms, 100.0)


def test_case_is_ignored_when_asked() -> None:
    assert verdict_of("The Council said the harbour sensors", ignore_case=True)[0] == "verbatim"


def test_a_misquoted_number_is_altered_never_close_enough() -> None:
    text = reader_text(REPORT.encode(), "text/html")
    assert text is not None
    quote = "The council said the harbour sensors were installed in 1999 and have never failed"
    finding = find_quote(parse_quote(quote), PageWords(words_of(text)))
    assert finding.verdict == "altered"
    assert [(c.quote, c.source, c.kinds, c.shown) for c in finding.changes] == [
        ("1999", "1998", ("number",), "1999 → 1998")
    ]
    assert finding.score > 90  # one word in fifteen: still altered
    assert text[finding.start : finding.end].startswith("The council said")


@pytest.mark.parametrize(
    ("quote", "shown", "kind"),
    [
        (
            "the harbour sensors were installed in 1998 and have always failed",
            "always → never",
            "negation",
        ),
        ("the harbour sensors were not installed in 1998", "(nothing) → not", "word"),
        ("Costs rose to 1,200,000 euros in the third quarter", "1,200,000 → 1,250,000", "number"),
        ("The mayor said the harbour sensors were installed in 1998", "mayor → council", "word"),
        ("The Mayor said the harbour sensors were installed in 1998", "Mayor → council", "name"),
    ],
)
def test_altered_shows_the_changed_words(quote: str, shown: str, kind: str) -> None:
    text = reader_text(REPORT.encode(), "text/html")
    assert text is not None
    finding = find_quote(parse_quote(quote), PageWords(words_of(text)))
    assert finding.verdict == "altered"
    shown_changes = [c.shown for c in finding.changes]
    if kind == "word" and shown.startswith("(nothing)"):  # the quote adds a negation
        shown, kind = "not → (nothing)", "negation"
    assert shown in shown_changes
    assert kind in next(c.kinds for c in finding.changes if c.shown == shown)


def test_not_found() -> None:
    verdict, changes = verdict_of("the minister resigned over the ferry contract last spring")
    assert (verdict, changes) == ("not-found", [])
    # the words of the script and the hidden element are not the page's
    assert verdict_of("the harbour sensors were installed in 2001")[0] == "altered"


def test_text_quote_selector_and_fragment() -> None:
    text = "Intro. The sensors work - mostly, & well. Again: the sensors work - mostly, & well."
    start = text.rindex("the sensors")
    end = text.rindex("well") + 4
    selector = text_quote_selector(text, start, end)
    assert selector == {
        "type": "TextQuoteSelector",
        "exact": "the sensors work - mostly, & well",
        "prefix": "s work - mostly, & well. Again: ",
        "suffix": ".",
    }
    fragment = text_fragment(text, start, end)
    # "-", "," and "&" are the directive's own syntax: always percent-encoded. The bare
    # text first matches the earlier sentence, so a prefix makes it the second.
    assert fragment == (
        ":~:text=%26%20well.%20Again%3A-,the%20sensors%20work%20%2D%20mostly%2C%20%26%20well,-."
    )
    terms = fragment.removeprefix(":~:text=").split(",")
    assert [unquote(t) for t in terms] == [
        "& well. Again:-",
        "the sensors work - mostly, & well",
        "-.",
    ]
    unique = text_fragment(text, 0, 6)
    assert unique == ":~:text=Intro."
    assert fragment_link("http://a.example/x", unique) == "http://a.example/x#:~:text=Intro."
    assert fragment_link("http://a.example/x#top", unique) == "http://a.example/x#top:~:text=Intro."
    assert fragment_link("file:///x.warc.gz#offset=3", unique) is None


def test_a_long_passage_gets_a_start_and_an_end() -> None:
    words = [f"w{n}" for n in range(30)]
    text = " ".join(words)
    assert (
        text_fragment(text, 0, len(text))
        == ":~:text=w0%20w1%20w2%20w3%20w4,w25%20w26%20w27%20w28%20w29"
    )


def citation(quote: str) -> Citation:
    return Citation(SOURCE, "report", "context", 7, quote=quote, cited_at="2018-11-28")


def html_page(html: str, url: str = MEMENTO.url) -> Page:
    return Page(url, MEMENTO.datetime, html.encode(), "text/html; charset=utf-8")


def test_check_quote_gives_evidence_a_reader_can_click() -> None:
    result = check_quote(
        citation("the harbour sensors were installed in 1998"), MEMENTO, html_page(REPORT), None
    )
    data = result.to_dict()
    assert (data["verdict"], data["score"], data["line"], data["cited_at"]) == (
        "verbatim",
        100.0,
        7,
        "2018-11-28",
    )
    archived = data["archived"]
    assert archived["passage"]["exact"] == "the harbour sensors were installed in 1998"
    assert archived["passage"]["before"].endswith("The council said ")
    assert archived["passage"]["after"].startswith(" and have “never failed”")
    assert archived["selector"]["exact"] == "the harbour sensors were installed in 1998"
    assert archived["link"] == (
        MEMENTO.url + "#:~:text=the%20harbour%20sensors%20were%20installed%20in%201998"
    )
    assert data["live"] is None and data["drift"] is None and data["drifted"] is False


def test_drift_when_the_live_page_lost_the_passage() -> None:
    live_html = REPORT.replace("installed in 1998", "installed in 2004").replace(
        "1,250,000", "2,000,000"
    )
    live = html_page(live_html, SOURCE)
    result = check_quote(
        citation("the harbour sensors were installed in 1998"), MEMENTO, html_page(REPORT), live
    )
    assert result.verdict == "verbatim"
    assert result.live is not None and result.live.verdict == "altered"
    assert [c.shown for c in result.live.changes] == ["1998 → 2004"]
    assert result.drift is not None and result.drifted
    assert 0 < result.drift.changed_percent < 20
    assert result.drift.reason.startswith("the memento holds the quote, the live page does not")

    same = check_quote(
        citation("the harbour sensors were installed in 1998"),
        MEMENTO,
        html_page(REPORT),
        html_page(REPORT, SOURCE),
    )
    assert same.drift is not None and not same.drifted and same.drift.changed_percent == 0.0


def test_a_copy_not_read_is_not_checked_with_its_reason() -> None:
    result = check_quote(
        citation("the harbour sensors were installed in 1998"),
        None,
        Unread(None, "no archived copy: no archive holds a copy"),
        Unread(SOURCE, "the live page is not alive (HTTP 404)"),
    )
    assert result.verdict == "not-checked"
    assert result.archived is not None and result.archived.reason.startswith("no archived copy")
    assert result.live is not None and result.live.verdict == "not-checked"
    assert result.drift is None
    pdf = Page(MEMENTO.url, MEMENTO.datetime, b"%PDF-1.4", "application/pdf")
    unreadable = check_quote(citation("the harbour sensors"), MEMENTO, pdf, None)
    assert unreadable.archived is not None
    assert (unreadable.verdict, unreadable.archived.reason) == (
        "not-checked",
        "no text is read from application/pdf",
    )
