"""A database a connector opens when it starts (or at first use) and closes when it closes.

The SQL connector's DMS database and the axis bridge's state file are both held this way; a database
that cannot be opened is ``DmsUnavailable`` (the runtime backs off and tries again), not a crash.
"""

from __future__ import annotations

from collections.abc import Callable

from vbcore.errors import DmsUnavailable, StoreError
from vbcore.store.driver import Driver


class LazyDatabase:
    """``open_driver()`` on ``open`` or at first use of ``driver``; ``what`` names it in errors."""

    def __init__(self, open_driver: Callable[[], Driver], what: str) -> None:
        self._open_driver, self.what = open_driver, what
        self._driver: Driver | None = None

    def open(self) -> None:
        if self._driver is None:
            try:
                self._driver = self._open_driver()
            except StoreError as exc:
                raise DmsUnavailable(f"{self.what} cannot be opened: {exc}") from exc

    def close(self) -> None:
        if self._driver is not None:
            self._driver.close()
            self._driver = None

    @property
    def driver(self) -> Driver:
        self.open()
        assert self._driver is not None
        return self._driver
