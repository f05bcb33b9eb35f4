"""Huge header lists at the hub: what one package with many recipients or attachments costs.

Run: ``python bench/bench_hub_recipients.py [--counts 1000,5000,10000] [--store sqlite|postgresql://...]``.

One hub on the in-memory broker (``vbcore.testing.devworld.MemoryWorld``) and a SQLite file (or the given
PostgreSQL, a schema per run), a directory with that many units of Văn phòng Chính phủ. Timed, each
the hub's whole handling of one message (``MemoryWorld.pump``: checks, planning, store, publishes):

- ``deliver``: a circular to N units, all delivered (one pair, one publish, one trace per recipient);
- ``refuse``: a circular to N unknown units: each refused in the store, ONE 02 naming 20 of them;
- ``receipt``: one unit's 01 about the first circular (must not grow with N);
- ``revoke``: the sender's 13 about it, fanned out to the N units;
- ``over the cap``: 50,000 ``To``, refused whole with one 02 (before any work per recipient);
- ``attachments``: a letter with N small attachments to one unit (the reader and the signature check
  dominate; planning does not look at attachments).

Printed: milliseconds per message and per recipient (or attachment), without the time spent inside the
in-memory broker (``BrokerClock``). Linear work shows as a flat per-recipient column.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vbcore.directory import Agency, Directory  # noqa: E402
from vbcore.hub.config import HubConfig  # noqa: E402
from vbcore.logging import quiet  # noqa: E402
from vbcore.model import (  # noqa: E402
    Attachment,
    Blob,
    ManifestReference,
    Organization,
    ResponseFor,
    StatusPackage,
)
from vbcore.security.pki import init_dev_pki  # noqa: E402
from vbcore.status import StatusCode  # noqa: E402
from vbcore.store import open_store  # noqa: E402
from vbcore.testing.devworld import HUB_ID, VPCP, DevKeys, MemoryWorld, letter, pdf_like  # noqa: E402

UNITS = [f"{a:03d}.{b:02d}.01.G22" for a in range(1000) for b in range(100)]
UNKNOWN = [f"{a:03d}.{b:02d}.02.H24" for a in range(1000) for b in range(100)]


def world_for(tmp: Path, n: int, store_url: str | None) -> MemoryWorld:
    units = [Agency(code, f"Đơn vị {code}", "unit", parent=VPCP) for code in UNITS[:n]]
    directory = Directory.default().merged_with(Directory.from_agencies(units))
    pki = init_dev_pki(tmp / "pki", [(VPCP, VPCP), (UNITS[0], UNITS[0]), (HUB_ID, "vbus hub")])
    dev = DevKeys.load(pki)
    url = store_url or f"sqlite:///{tmp / 'hub.db'}"
    if url.startswith("postgres"):
        url += ("&" if "?" in url else "?") + f"schema=vbus_bench_{uuid.uuid4().hex[:10]}"
    world = MemoryWorld(open_store(url), dev, config=HubConfig(hub_id=HUB_ID), directory=directory,
                        agencies=(VPCP, UNITS[0]))  # fmt: skip
    world.start_hub()
    return world


def circular(to: list[str], number: str) -> object:
    return dataclasses.replace(letter(VPCP, [], number), to=tuple(Organization(c, organ_name=c) for c in to))


def with_attachments(count: int) -> object:
    doc = letter(VPCP, [UNITS[0]], "att")
    refs, files = [], []
    for i in range(count):
        cid = f"cid:{uuid.uuid4()}"
        refs.append(ManifestReference(cid, "application/pdf", f"Phụ lục {i}", f"phu-luc-{i}.pdf"))
        content = Blob(pdf_like(str(i)))
        files.append(Attachment(cid, f"phu-luc-{i}.pdf", content, "application/pdf", f"Phụ lục {i}"))
    return dataclasses.replace(doc, manifest=tuple(refs), attachments=tuple(files))


def status(sender: str, document_id: str, code: StatusCode) -> StatusPackage:
    return StatusPackage(
        from_=Organization(sender, organ_name=sender),
        response_for=ResponseFor(VPCP, document_id=document_id),
        status_code=code,
        description=code.vietnamese,
        timestamp=datetime(2026, 11, 24, 9, 0),
    )


class BrokerClock:
    """Time spent inside the in-memory broker (its routing looks at every binding of an exchange, which
    a RabbitMQ direct exchange does not): subtracted, so the figures are the hub's own work."""

    def __init__(self, world: MemoryWorld) -> None:
        assert world.hub is not None
        self.seconds = 0.0
        transport: Any = world.hub.transport
        for name in ("publish_many", "declare_inbox"):
            setattr(transport, name, self._timed(getattr(transport, name)))

    def _timed(self, call: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        return run


def timed(world: MemoryWorld, submit: Callable[[], object]) -> float:
    """Milliseconds the hub spends on the message ``submit`` publishes, broker time excluded."""
    submit()  # signing by the sender is not the hub's work: done before the clock starts
    broker = BrokerClock(world)
    started = time.perf_counter()
    world.pump()
    return (time.perf_counter() - started - broker.seconds) * 1000


def run(n: int, store_url: str | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        world = world_for(Path(tmp), n, store_url)
        try:
            first = circular(UNITS[:n], "1")
            out = {"deliver": timed(world, lambda: world.client(VPCP).submit(first))}  # type: ignore[arg-type]
            unknown = circular(UNKNOWN[:n], "2")
            out["refuse"] = timed(world, lambda: world.client(VPCP).submit(unknown))  # type: ignore[arg-type]
            doc_id = first.effective_document_id  # type: ignore[attr-defined]
            receipt = status(UNITS[0], doc_id, StatusCode.ARRIVED)
            out["receipt"] = timed(world, lambda: world.client(UNITS[0]).submit(receipt))
            out["revoke"] = timed(
                world, lambda: world.client(VPCP).submit(status(VPCP, doc_id, StatusCode.REVOKE))
            )
            many = with_attachments(n)
            out["attachments"] = timed(world, lambda: world.client(VPCP).submit(many))  # type: ignore[arg-type]
            return out
        finally:
            world.store.close()


def over_the_cap(store_url: str | None) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        world = world_for(Path(tmp), 0, store_url)
        try:
            huge = circular(UNKNOWN[:50_000], "cap")
            return timed(world, lambda: world.client(VPCP).submit(huge))  # type: ignore[arg-type]
        finally:
            world.store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--counts", default="1000,5000,10000")
    parser.add_argument("--store", default=None, help="a PostgreSQL URL (default: a SQLite file)")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    quiet()
    print(f"{'N':>7} | {'what':<11} | {'ms':>9} | {'ms per item':>11}")
    for n in counts:
        for what, ms in run(n, args.store).items():
            per = "" if what == "receipt" else f"{ms / n:11.3f}"
            print(f"{n:>7} | {what:<11} | {ms:9.1f} | {per:>11}")
    ms = over_the_cap(args.store)
    print(f"{50_000:>7} | {'over cap':<11} | {ms:9.1f} | {ms / 50_000:11.4f}")


if __name__ == "__main__":
    main()
