"""``export``: a store handed on as a package, a WACZ for replay tools or a BagIt bag for
an archive's ingest (``archiver.export``)."""

from __future__ import annotations

from pathlib import Path

import click

from archiver.cli.console import emit
from archiver.cli.options import format_option
from archiver.errors import InputError
from archiver.report.formats import formatter


@click.command()
@click.argument("store", required=False, type=click.Path(path_type=Path), default=Path("warcs"))
@click.option(
    "--wacz",
    "wacz_out",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="OUT.wacz",
    help="Write a WACZ 1.1.1 package (pywb, ReplayWeb.page) to this file.",
)
@click.option(
    "--bag",
    "bag_dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Write a BagIt 1.0 bag into this new (or empty) folder.",
)
@click.option("--title", help="The WACZ's title. [default: names the cited article]")
@click.option("--organization", help="Bag: Source-Organization.")
@click.option("--contact-name", help="Bag: Contact-Name.")
@click.option("--contact-email", help="Bag: Contact-Email.")
@click.option("--description", help="Bag: External-Description. [default: names the cited article]")
@click.option("--identifier", help="Bag: External-Identifier.")
@format_option("table", "json")
def export(
    store: Path,
    wacz_out: Path | None,
    bag_dir: Path | None,
    title: str | None,
    organization: str | None,
    contact_name: str | None,
    contact_email: str | None,
    description: str | None,
    identifier: str | None,
    fmt: str,
) -> None:
    """Package STORE (default ./warcs) as a WACZ file, a BagIt bag, or both.

    The store is read, never changed: every WARC file is checked against the manifest's
    sha256 as it is copied. A WACZ holds the WARCs, their sorted CDXJ index, a page per
    cited source (its memento time and title) and the manifest; a bag
    holds the store's files with sha256 and sha512 manifests (`archiver verify DIR`
    checks its payload as a store).

    \b
    Examples:
      archiver export --wacz sources.wacz warcs
      archiver export --bag sources-bag --organization "City Library" warcs
    """
    from archiver.export.bag import BagInfo, write_bag
    from archiver.export.contents import default_description, read_store
    from archiver.export.wacz import write_wacz

    if wacz_out is None and bag_dir is None:
        raise click.UsageError("say what to write: --wacz OUT.wacz, --bag DIR, or both")
    if not store.is_dir():
        raise InputError(f"no such store: {store}")
    results = []
    with read_store(store) as contents:  # one snapshot for both packages
        described = default_description(contents)
        if wacz_out is not None:
            results.append(write_wacz(contents, wacz_out, title=title or described))
        if bag_dir is not None:
            info = BagInfo(
                source_organization=organization,
                contact_name=contact_name,
                contact_email=contact_email,
                external_description=description or described,
                external_identifier=identifier,
            )
            results.append(write_bag(contents, bag_dir, info))
    emit(formatter(fmt).exports(results))
