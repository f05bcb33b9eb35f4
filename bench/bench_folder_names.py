"""The folder connector's delivery of a document with many attachments of one name, against their count.

The receiver-stall of issue 7: 20,000 attachments all named ``công văn.pdf`` made the folder connector
look for a free name by trying ``-1``, ``-2``, ... on disk for each one, ~200 million checks (about 25
minutes). ``connectors.folder_names.UniqueNames`` makes each name in constant time: the time per
attachment should stay flat as the count grows (it is then the file writes and fsyncs themselves).

    python bench/bench_folder_names.py                 # 1,000, 5,000 and 20,000 attachments
    python bench/bench_folder_names.py 2000 40000      # other counts
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from connectors.folder import FolderConnector
from vbcore.connector import ConnectorContext, IncomingDocument
from vbcore.model import Attachment, Blob, Code, Edoc, Organization

SENDER, AGENCY = "000.00.00.G22", "000.00.00.H24"
NAME = "công văn.pdf"
LONG_NAME = "Quyết định về việc phê duyệt kế hoạch chuyển đổi số " * 6 + ".pdf"  # over 255 bytes


def document(count: int, name: str) -> IncomingDocument:
    content = Blob(b"%PDF-1.4 x")
    attachments = tuple(Attachment(f"cid:{i}", name, content, "application/pdf") for i in range(count))
    document_id = f"{SENDER},2026/11/24,{count}/VPCP-TH"
    edoc = Edoc(
        from_=Organization(SENDER),
        to=(Organization(AGENCY),),
        document_id=document_id,
        code=Code(str(count), "VPCP-TH"),
        subject="V/v nhiều tệp đính kèm",
        attachments=attachments,
    )
    return IncomingDocument(document_id, SENDER, edoc, b"<signed/>", "m", datetime.now(UTC))


def deliver_seconds(count: int, name: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        connector = FolderConnector.from_config(
            {"root": str(root), "settle_seconds": 0}, ConnectorContext(AGENCY, root / "work")
        )
        connector.start()
        doc = document(count, name)
        started = time.perf_counter()
        connector.deliver(doc)
        return time.perf_counter() - started


def main(counts: list[int]) -> None:
    print(f"{'attachments':>11}  {'name':<10}  {'seconds':>8}  {'ms each':>8}")
    for count in counts:
        for label, name in (("same", NAME), ("long", LONG_NAME)):
            seconds = deliver_seconds(count, name)
            print(f"{count:>11}  {label:<10}  {seconds:>8.2f}  {1000 * seconds / count:>8.3f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 5000, 20000])
