"""Splitting a list of URLs by host, so that each host's links go to one place (a worker
process, a cluster's task) and the per-host limit holds wherever they are checked."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from archiver.net.urls import host_of


def partition_by_host(urls: Sequence[str], parts: int) -> list[list[str]]:
    """Split the URLs into at most ``parts`` groups of whole hosts, of similar size, so
    that per-host limits hold inside each group."""
    by_host: dict[str, list[str]] = defaultdict(list)
    for url in urls:
        by_host[host_of(url)].append(url)
    groups: list[list[str]] = [[] for _ in range(max(1, min(parts, len(by_host))))]
    for host_urls in sorted(by_host.values(), key=len, reverse=True):
        min(groups, key=len).extend(host_urls)
    return [group for group in groups if group]
