"""digests: every spelling of a payload digest read to one form, and a record's own checked.

The values are those of sha1(b"hello") and sha256(b"hello"), computed once with hashlib.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from archiver.storage.digests import (
    DigestCheck,
    decode_digest,
    encode_like,
    file_sha256,
    sha1_base32_digest,
)

HELLO_SHA1_BASE32 = "VL2MMHO4YXUKFWV63YHTWSBM3GXKSQ2N"
HELLO_SHA1_HEX = "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"
HELLO_SHA1_BASE64 = "qvTGHdzF6KLavt4PO0gs2a6pQ00="
HELLO_SHA256_HEX = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"


@pytest.mark.parametrize(
    "spelling",
    [
        f"sha1:{HELLO_SHA1_BASE32}",  # the WARC spec's form
        HELLO_SHA1_BASE32,  # a CDX line's: no label
        HELLO_SHA1_BASE32.lower(),
        f"SHA1:{HELLO_SHA1_BASE32.lower()}",
        f"sha-1:{HELLO_SHA1_BASE32}",
        f"  sha1: {HELLO_SHA1_BASE32} ",
        f"sha1:{HELLO_SHA1_HEX}",  # base16, as some indexers write it
        HELLO_SHA1_HEX.upper(),
        f"sha1:{HELLO_SHA1_BASE64}",
    ],
)
def test_every_spelling_of_a_sha1_is_upper_case_base32(spelling: str) -> None:
    assert sha1_base32_digest(spelling) == HELLO_SHA1_BASE32


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        " ",
        "-",  # a CDX line's "no digest"
        "sha1:",
        "sha1:NOTADIGEST",
        f"sha1:{HELLO_SHA1_BASE32[:-1]}",  # 19 and a half bytes
        f"sha256:{HELLO_SHA256_HEX}",  # another algorithm is no sha1 to compare with
        f"md5:{HELLO_SHA1_HEX[:32]}",
    ],
)
def test_what_is_no_sha1_digest_is_none(value: str | None) -> None:
    assert sha1_base32_digest(value) is None


def test_decode_and_encode_keep_the_encoding_they_were_given() -> None:
    raw = bytes.fromhex(HELLO_SHA1_HEX)
    assert decode_digest(HELLO_SHA1_BASE64, 20) == raw
    assert decode_digest(HELLO_SHA1_BASE32, 32) is None  # the wrong size
    assert encode_like(HELLO_SHA1_HEX, raw) == HELLO_SHA1_HEX
    assert encode_like(HELLO_SHA1_BASE32, raw) == HELLO_SHA1_BASE32


def test_a_digest_check_names_what_the_bytes_hash_to() -> None:
    matching = DigestCheck("WARC-Payload-Digest", f"sha256:{HELLO_SHA256_HEX}")
    matching.update(b"hel")
    matching.update(b"lo")
    assert (matching.known, matching.mismatch()) == (True, None)

    wrong = DigestCheck("WARC-Block-Digest", f"SHA-1:{HELLO_SHA1_HEX}")
    wrong.update(b"hello!")
    assert wrong.algorithm == "sha1"
    assert wrong.mismatch() == "sha1:8f7d88e901a5ad3a05d8cc0de93313fd76028f8c"

    assert not DigestCheck("WARC-Block-Digest", "crc99:1234").known
    assert not DigestCheck("WARC-Block-Digest", "sha1:").known


def test_file_sha256_reads_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "hello"
    path.write_bytes(b"hello")
    assert file_sha256(path) == (HELLO_SHA256_HEX, 5)
