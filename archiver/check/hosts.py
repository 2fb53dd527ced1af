"""Splitting a list of URLs by host, so that each host's links go to one place (a worker
process, a cluster's task) and the per-host limit holds wherever they are checked."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from archiver.net.urls import host_of


def partition_by_host(urls: Sequence[str], parts: int) -> list[list[str]]:
    """Split the URLs into at most ``parts`` groups of whole hosts, of similar size, so
    that per-host limits hold inside each group."""
    by_host: dict[str, list[str]] = {}
    group_by_host(urls, by_host)
    return split_hosts(by_host.values(), parts)


def group_by_host(urls: Iterable[str], by_host: dict[str, list[str]]) -> None:
    """Add each URL to its host's list in ``by_host``, in the order given."""
    for url in urls:
        same_host = by_host.get(host := host_of(url))
        if same_host is None:
            by_host[host] = [url]
        else:
            same_host.append(url)


def split_hosts(hosts: Collection[list[str]], parts: int) -> list[list[str]]:
    """Each host's URLs (``hosts``, one list a host) put into at most ``parts`` groups of
    similar size, the largest hosts first, each into the smallest group so far."""
    groups: list[list[str]] = [[] for _ in range(max(1, min(parts, len(hosts))))]
    for host_urls in sorted(hosts, key=len, reverse=True):
        min(groups, key=len).extend(host_urls)
    return [group for group in groups if group]
