"""Mutations of real packages and ZIPs, for the property-based fuzz tests and the atheris harnesses.

A mutation is a short list of edits (flip a byte, insert an XML or ZIP token, cut a span) applied to
a seed: the interop packages (what real producers send), a signed letter, one-entry ZIPs. Every
edit is reproducible from its integers, so Hypothesis shrinks a failure to the smallest edit list.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence

from hostile import one_entry
from interop import interop_files

# Runs per property in the normal test suite (a few seconds each); the long run raises it.
EXAMPLES = int(os.environ.get("VBUS_FUZZ_EXAMPLES", "150"))

XML_TOKENS: tuple[bytes, ...] = (
    b"<", b">", b"</", b"/>", b"&", b"&amp;", b"&#0;", b"&#x10FFFF;", b"&#xD800;", b"<![CDATA[", b"]]>",
    b"<!--", b"-->", b"<?x ?>", b'"', b"=", b"xmlns:a='u'", b"xmlns=''", b"a:", b"\x00", b"\xff", b"\xc3",
    b"<!DOCTYPE x [<!ENTITY e 'x'>]>", b"&e;", b"edXML:", b"ds:", b"{", b"}", b"\n", b"0001", b"9999",
    b"/00/", b"99999999999999999999", b"-1", b"<StatusCode/>", b"<To/>", b"<Signature/>",
    b"<ContentTransferEncoded>UEsDBA==</ContentTransferEncoded>", b"<Attachment/>", b"====", b"PK\x03\x04",
)  # fmt: skip
ZIP_TOKENS: tuple[bytes, ...] = (
    b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff", b"\x80\x00\x00\x00", b"\xff\xff",
    b"\xff" * 8, b"\x7f" + b"\xff" * 7,
    b"PK\x01\x02", b"PK\x03\x04", b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07",
)  # fmt: skip

Edit = tuple[int, int, int]  # (operation, position, value)


def mutate(seed: bytes, edits: Sequence[Edit], tokens: Sequence[bytes]) -> bytes:
    """``seed`` with each edit applied: 0 set a byte, 1 insert a token, 2 cut up to 32 bytes,
    3 overwrite with a token (positions and values wrap around)."""
    data = bytearray(seed)
    for operation, position, value in edits:
        at = position % (len(data) + 1)
        token = tokens[value % len(tokens)]
        if operation % 4 == 0 and data:
            data[min(at, len(data) - 1)] = value % 256
        elif operation % 4 == 1:
            data[at:at] = token
        elif operation % 4 == 2:
            del data[at : at + 1 + value % 32]
        else:
            data[at : at + len(token)] = token
    return bytes(data)


def interop_seeds(max_size: int = 200_000) -> list[bytes]:
    """The real packages, small enough to parse quickly many times (none without the corpus: the
    tests that sample them ask for the ``interop_dir`` fixture, which skips or fails)."""
    return [
        path.read_bytes()
        for path in interop_files()
        if path.name != "ORIGINS.md" and path.stat().st_size <= max_size
    ]


def zip_seeds() -> list[bytes]:
    text = b"%PDF-1.4 V\xe1\xbb\x81 vi\xe1\xbb\x87c " * 100
    return [
        one_entry(text),
        one_entry(text, method=zipfile.ZIP_STORED),
        one_entry(text, method=zipfile.ZIP_BZIP2),
        one_entry(text, method=zipfile.ZIP_LZMA),
        one_entry(text, name="Công văn số 12.pdf"),
    ]
