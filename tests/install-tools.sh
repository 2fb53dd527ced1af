#!/usr/bin/env bash
# The third-party replay client the export tests open a WACZ in (tests/test_export_replay.py),
# installed for real, quietly, and only when absent: Debian's chromium (Playwright drives
# it and downloads no browser of its own; apt-get needs root) and ReplayWeb.page's built
# site (index.html, ui.js, sw.js), unpacked from its npm package into a cache outside the
# checkout, where the test looks for it. `npm install replaywebpage` is not used: the
# registry lacks a version of one of its dependencies, and the package ships its site built.
set -euo pipefail
if ! command -v chromium >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
site="${ARCHIVER_REPLAYWEBPAGE:-${XDG_CACHE_HOME:-$HOME/.cache}/archiver-ci/replaywebpage/package}"
if [ ! -f "$site/sw.js" ]; then
    home="$(dirname "$site")"
    mkdir -p "$home"
    (cd "$home" && rm -rf package && tar -xzf "$(npm pack replaywebpage@2.5 --silent)" && rm -f replaywebpage-*.tgz)
    if [ "$home/package" != "$site" ]; then rm -rf "$site" && mv "$home/package" "$site"; fi
fi
