"""systemd's notify protocol (``sd_notify``), standard library only, for units with ``Type=notify`` and
``WatchdogSec=`` (``deploy/systemd/watchdog.conf``).

``READY=1`` is sent once the process's main loop turns (its ``Heartbeat``), so ``systemctl start``
returns when the hub or the connector really runs; then ``WATCHDOG=1`` every half watchdog period,
only while the loop keeps turning: a process whose loop hangs stops being petted and systemd restarts
it after ``WatchdogSec``. Without ``NOTIFY_SOCKET`` in the environment (not under systemd, or another
``Type=``) nothing is sent.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Mapping

from vbcore.logging import get_logger
from vbcore.probes import Heartbeat

log = get_logger("vbus.watchdog")

NOTIFY_SOCKET = "NOTIFY_SOCKET"
WATCHDOG_USEC = "WATCHDOG_USEC"
IDLE_CHECK_SECONDS = 1.0  # how often READY=1 is looked for when systemd set no watchdog
_MICROSECONDS = 1_000_000


class SystemdNotifier:
    """Talks to systemd on ``NOTIFY_SOCKET`` from a thread of its own, watching ``heartbeat``."""

    def __init__(self, address: str, heartbeat: Heartbeat, *, watchdog_seconds: float | None = None) -> None:
        # An address beginning with "@" is in Linux's abstract namespace.
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self.heartbeat = heartbeat
        self.watchdog_seconds = watchdog_seconds
        self.ready_sent = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="vbus-watchdog", daemon=True)

    @classmethod
    def from_environment(
        cls, heartbeat: Heartbeat, environ: Mapping[str, str] | None = None
    ) -> SystemdNotifier | None:
        env = os.environ if environ is None else environ
        address = env.get(NOTIFY_SOCKET, "")
        if not address:
            return None
        usec = env.get(WATCHDOG_USEC, "")
        seconds = int(usec) / _MICROSECONDS if usec.isdigit() and int(usec) > 0 else None
        return cls(address, heartbeat, watchdog_seconds=seconds)

    def notify(self, message: str) -> bool:
        """Send one message; False (logged) when systemd's socket cannot be reached."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(message.encode(), self.address)
        except OSError as err:
            log.warning("watchdog.notify_failed", message=message, error=str(err))
            return False
        return True

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)
        self.notify("STOPPING=1")

    def _loop(self) -> None:
        half = self.watchdog_seconds / 2 if self.watchdog_seconds else IDLE_CHECK_SECONDS
        while not self._stop.wait(min(half, IDLE_CHECK_SECONDS)):
            self.tick()

    def tick(self) -> None:
        """One look at the heartbeat: READY=1 at its first beat, WATCHDOG=1 while it is fresh."""
        window = self.watchdog_seconds / 2 if self.watchdog_seconds else None
        if not self.heartbeat.started:
            return
        if not self.ready_sent:
            self.ready_sent = self.notify("READY=1")
        if window is not None and self.heartbeat.fresh(window):
            self.notify("WATCHDOG=1")
