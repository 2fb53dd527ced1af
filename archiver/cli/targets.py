"""What a command's ARTICLE or URL arguments name, read for the stage the command runs.

An ARTICLE is a file, '-' for stdin, or an http(s) URL; an ARTICLE|URL target is either
an http(s) URL to take as it is or an article whose cited URLs are taken. Each stage is
imported by the function that needs it: ``scan`` of a Markdown file reads it with the
Markdown parser alone, and never loads the HTTP client.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from archiver.cli.console import progress_notes
from archiver.config import Settings

if TYPE_CHECKING:
    from archiver.extract import Article
    from archiver.models import Citation
    from archiver.pipeline import RunReport
    from archiver.save.keys import InternetArchiveKeys


def load_citations(source: str, settings: Settings) -> tuple[Article, list[Citation]]:
    """The article ``source`` names, and its citations."""
    from archiver.extract import extract_citations, read_article

    if "://" in source:
        from archiver.pipeline import load_article

        loaded = load_article(source, settings)
    else:
        loaded = read_article(source)
    return loaded, extract_citations(loaded.text, loaded.fmt, source=loaded.source)


def cited_urls(
    targets: Sequence[str], from_file: str | None = None, settings: Settings | None = None
) -> list[str]:
    """The distinct URLs of ``targets`` (and of the list in ``from_file``): each an http(s)
    URL, taken as it is, or articles (files, folders, globs, MediaWiki dumps) whose cited
    URLs are taken; a sitemap gives the URLs it lists. Only the URLs are kept, so each
    article's parse can be freed."""
    urls: list[str] = []
    give_cited_urls(targets, from_file, settings, urls.extend)
    return urls


def give_cited_urls(
    targets: Sequence[str],
    from_file: str | None,
    settings: Settings | None,
    give: Callable[[list[str]], None],
) -> None:
    """``cited_urls``, given to ``give`` a few at a time as they are found: a long
    article's while it is still being parsed."""
    from archiver.batch.inputs import looks_like_xml
    from archiver.net.urls import validate_url

    one = targets[0] if len(targets) == 1 and from_file is None else ""
    if "://" in one and not looks_like_xml(one):  # a sitemap's URL gives the pages it lists
        give([validate_url(one)])
        return
    from archiver.batch.inputs import read_source
    from archiver.cli.batch import sources
    from archiver.extract import extract_urls

    seen: set[str] = set()

    def new_ones(urls: list[str]) -> None:
        fresh = [url for url in dict.fromkeys(urls) if url not in seen]
        seen.update(fresh)
        give(fresh)

    for source in sources(targets, from_file, settings or Settings()):
        if source.is_url:
            assert source.url is not None
            new_ones([validate_url(source.url)])
        else:
            article = read_source(source)
            extract_urls(article.text, article.fmt, source=article.source, sink=new_ones)
            del article  # not held while the next source is read


def run_on(
    article: str,
    settings: Settings,
    *,
    save_live: InternetArchiveKeys | None = None,
    article_url: str | None = None,
) -> RunReport:
    """The pipeline run on the ``article`` argument (progress on a terminal's stderr)."""
    from archiver.net.urls import validate_url
    from archiver.pipeline import run_pipeline

    if article_url is not None:
        article_url = validate_url(article_url)  # before the article is read or fetched
    loaded, citations = load_citations(article, settings)
    return run_pipeline(
        loaded,
        citations,
        settings,
        on_progress=progress_notes(),
        save_live=save_live,
        article_url=article_url,
    )
