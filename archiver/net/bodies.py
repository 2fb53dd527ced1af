"""Undoing a body's content-encoding, shared by both HTTP stacks."""

from __future__ import annotations

import zlib

_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def decode_body(raw: bytes, content_encoding: str | None, limit: int = 0) -> bytes:
    """Undo gzip/deflate content-encoding; a damaged or truncated stream yields what
    decodes, an unknown encoding the bytes as they are. With ``limit``, at most that many
    decoded bytes come out, however far the stream would expand."""
    wbits = _WBITS.get((content_encoding or "").strip().lower())
    if wbits is None:
        return raw
    # deflate is meant to be zlib-wrapped, but some servers send it raw
    for attempt in (wbits, -zlib.MAX_WBITS) if wbits == zlib.MAX_WBITS else (wbits,):
        try:
            return zlib.decompressobj(attempt).decompress(raw, limit)
        except zlib.error:
            continue
    return raw
