"""Hostile inputs built by hand, shared by the tests, the fuzz harnesses' seeds and the benchmarks.

Each function returns bytes an attacker could send: ZIP archives whose central directory lies,
whose data is corrupt or that expand absurdly, and edXML packages around such attachments.
"""

from __future__ import annotations

import base64
import io
import struct
import zipfile
from xml.sax.saxutils import escape

from vbcore.edxml import EDXML_NS

MiB = 1024 * 1024


def zip_of(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name) if name == "" else name, data, compress_type=method)
    return buf.getvalue()


def one_entry(
    data: bytes = b"%PDF-1.4 hello " * 200, name: str = "a.pdf", method: int = zipfile.ZIP_DEFLATED
) -> bytes:
    return zip_of({name: data}, method)


def _data_start(archive: bytes) -> int:
    name_length, extra_length = struct.unpack("<HH", archive[26:30])
    return 30 + name_length + extra_length


def corrupt_data(archive: bytes, at: int = 0, length: int = 16) -> bytes:
    """The first entry's compressed data overwritten with 0xff bytes from ``at``."""
    start = _data_start(archive) + at
    return archive[:start] + b"\xff" * length + archive[start + length :]


def _eocd(archive: bytes) -> int:
    return archive.rfind(b"PK\x05\x06")


def central_directory_offset_moved(archive: bytes, by: int) -> bytes:
    """The end record's offset of the central directory moved: entries' offsets go negative."""
    at = _eocd(archive) + 16
    (offset,) = struct.unpack("<I", archive[at : at + 4])
    return archive[:at] + struct.pack("<I", offset + by) + archive[at + 4 :]


def header_offset_zip64(archive: bytes, value: int) -> bytes:
    """The central directory's local-header offset given as a ZIP64 extra field of ``value``."""
    cd = archive.find(b"PK\x01\x02")
    name_length, extra_length, comment_length = struct.unpack("<HHH", archive[cd + 28 : cd + 34])
    extra = struct.pack("<HHQ", 1, 8, value)
    header = bytearray(archive[cd : cd + 46])
    header[30:32] = struct.pack("<H", len(extra))
    header[42:46] = b"\xff\xff\xff\xff"
    directory = bytes(header) + archive[cd + 46 : cd + 46 + name_length] + extra
    end = bytearray(archive[cd + 46 + name_length + extra_length + comment_length :])
    end[12:16] = struct.pack("<I", len(directory))
    return archive[:cd] + directory + bytes(end)


def utf8_flagged_bad_name(archive_name: str = "đ.pdf") -> bytes:
    """An entry flagged as UTF-8 whose name bytes are not UTF-8."""
    archive = one_entry(name=archive_name)
    return archive.replace(archive_name.encode(), b"\xc4\x21" + archive_name.encode()[2:])


def declared_size(archive: bytes, file_size: int) -> bytes:
    """The first entry's uncompressed size rewritten in both its local header and the central directory."""
    local = bytearray(archive)
    local[22:26] = struct.pack("<I", file_size)
    cd = bytes(local).find(b"PK\x01\x02")
    local[cd + 24 : cd + 28] = struct.pack("<I", file_size)
    return bytes(local)


def bomb(expanded: int, name: str = "bomb.pdf") -> bytes:
    """A one-entry deflate ZIP of ``expanded`` zero bytes (about 1,000 times smaller than that)."""
    buf = io.BytesIO()
    with (
        zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open(name, "w", force_zip64=True) as f,
    ):
        chunk = bytes(MiB)
        for _ in range(expanded // MiB):
            f.write(chunk)
        f.write(bytes(expanded % MiB))
    return buf.getvalue()


def package(*, header: str = "", attachments: str = "", status: bool = False) -> bytes:
    """A minimal package (a document, or a status) around the given header extras and attachments."""
    if status:
        message = f"""<From><OrganId>000.00.00.H41</OrganId></From>
        <ResponseFor><OrganId>000.00.00.G22</OrganId><DocumentId>1</DocumentId></ResponseFor>{header}"""
        return f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="{EDXML_NS}"><edXMLEnvelope><edXMLHeader><MessageHeader>{message}</MessageHeader>
</edXMLHeader></edXMLEnvelope></edXML>""".encode()
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="{EDXML_NS}">
  <edXMLEnvelope>
    <edXMLHeader>
      <MessageHeader>
        <From><OrganId>000.00.00.G22</OrganId></From>
        <To><OrganId>000.00.00.H41</OrganId></To>
        {header}
      </MessageHeader>
    </edXMLHeader>
    <edXMLBody><edXMLManifest version="1.0"/></edXMLBody>
  </edXMLEnvelope>
  <AttachmentEncoded>{attachments}</AttachmentEncoded>
</edXML>""".encode()


def attachment(
    content: bytes, *, name: str = "a.pdf", content_id: str = "cid:1", encoded: str | None = None
) -> str:
    text = base64.b64encode(content).decode() if encoded is None else encoded
    return f"""<Attachment><ContentId>{content_id}</ContentId><AttachmentName>{escape(name)}</AttachmentName>
      <ContentType>application/pdf</ContentType><ContentTransferEncoded>{text}</ContentTransferEncoded>
    </Attachment>"""
