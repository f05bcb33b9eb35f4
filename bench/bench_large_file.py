"""A document with one large attachment end to end with the default settings, and each process's peak RSS.

    python bench/bench_large_file.py            # a 50 MiB attachment (a 66.7 MiB package)
    python bench/bench_large_file.py --mb 20

The sender (its own process) writes, signs and publishes the document; the hub (``vb hub run`` with its
defaults: ``MAX_PACKAGE_BYTES``, the prefetch derived from the inflight budget) checks and forwards it;
the receiver (its own process) fetches, verifies and reads it (the attachment decoded), and sends a
signed 01 back, which the sender fetches and verifies. Printed for each process: the RSS it had before
the document (idle, after imports and connecting; the sender's includes the attachment's bytes), its
peak (``VmHWM`` / ``ru_maxrss``), peak - idle, and that over the package's size (the goal: at most 2).
The broker (shared) is sampled every 50 ms: its RSS rise during the run. Needs RabbitMQ (as bench_hub).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_hub import RECEIVER, SENDER, Setup, environment, processes  # noqa: E402
from vbcore.edxml import write_package  # noqa: E402
from vbcore.model import Edoc, Organization, ResponseFor, StaffInfo, StatusPackage  # noqa: E402
from vbcore.status import StatusCode  # noqa: E402
from vbcore.testing.devworld import letter  # noqa: E402

MiB = 1024 * 1024


def rss_mib(pid: int | str = "self", field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_self() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sender_main(setup: Setup, mb: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    client = setup.client(SENDER)
    doc = letter(SENDER, [RECEIVER], uuid.uuid4().hex[:6], pdf=os.urandom(mb * MiB))
    client.transport.drain(0)
    idle = rss_mib()
    started = time.time()
    client.submit(doc)
    sent = time.time()
    while True:
        incoming = client.fetch(timeout=5.0)
        if incoming is None:
            continue
        client.ack(incoming)
        if isinstance(incoming.package, StatusPackage):
            break
    out.put(("sender", idle, peak_self(), sent - started, time.time() - started))
    client.transport.close()


def receiver_main(setup: Setup, out: mp.Queue) -> None:  # type: ignore[type-arg]
    client = setup.client(RECEIVER)
    client.fetch(timeout=0.1)  # connect and start consuming
    idle = rss_mib()
    while True:
        incoming = client.fetch(timeout=5.0)
        if incoming is None:
            continue
        package = incoming.package
        client.ack(incoming)
        if isinstance(package, Edoc):
            break
    size = package.attachments[0].content.size
    client.submit(StatusPackage(
        from_=Organization(RECEIVER),
        response_for=ResponseFor(organ_id=SENDER, document_id=package.effective_document_id),
        status_code=StatusCode.ARRIVED, staff_info=StaffInfo(department="Văn thư", staff="Bench"),
        description="Đã đến", timestamp=datetime.now().replace(microsecond=0),
    ))  # fmt: skip
    out.put(("receiver", idle, peak_self(), float(size), 0.0))
    client.transport.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=50, help="attachment size in MiB")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--management-url", default="http://guest:guest@127.0.0.1:15672")
    parser.add_argument("--store", default="sqlite")
    args = parser.parse_args()
    args.hubs, args.prefetch, args.profile, args.synchronous, args.inflight_bytes = (
        1,
        32,
        None,
        "normal",
        None,
    )
    package_mib = len(write_package(letter(SENDER, [RECEIVER], "1", pdf=bytes(args.mb * MiB)))) / MiB
    print(f"{datetime.now():%Y-%m-%d %H:%M}, load average {os.getloadavg()[0]:.2f} "
          f"{os.getloadavg()[1]:.2f}; attachment {args.mb} MiB, package {package_mib:.1f} MiB")  # fmt: skip
    with environment(args) as setup:
        hub_pid = setup.hub_pids[0]
        broker = processes(setup).get("broker")
        time.sleep(1.0)
        hub_idle = rss_mib(hub_pid)
        broker_idle = rss_mib(broker) if broker else 0.0
        broker_peak = [broker_idle]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set() and broker:
                broker_peak.append(rss_mib(broker))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        out: mp.Queue = mp.Queue()  # type: ignore[type-arg]
        ctx = mp.get_context("fork")
        receiver = ctx.Process(target=receiver_main, args=(setup, out))
        receiver.start()
        time.sleep(1.0)
        sender = ctx.Process(target=sender_main, args=(setup, args.mb, out))
        sender.start()
        got = {}
        for _ in range(2):
            name, idle, peak, a, b = out.get(timeout=600)
            got[name] = (idle, peak, a, b)
        sender.join()
        receiver.join()
        hub_peak = rss_mib(hub_pid, "VmHWM")
        stop.set()
        sampler.join()
    print(
        f"end to end: signed and published in {got['sender'][2]:.1f} s, 01 back after {got['sender'][3]:.1f} s"  # noqa: E501
    )
    print("process   idle MiB  peak MiB  peak-idle  (peak-idle)/package")
    rows = [("sender", *got["sender"][:2]), ("hub", hub_idle, hub_peak), ("receiver", *got["receiver"][:2]),
            ("broker", broker_idle, max(broker_peak))]  # fmt: skip
    for name, idle, peak in rows:
        print(f"{name:9} {idle:9.1f} {peak:9.1f} {peak - idle:10.1f}  {(peak - idle) / package_mib:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
