"""A database a connector opens when it starts (or at first use) and closes when it closes.

The SQL connector's DMS database and the axis bridge's state file are both held this way; a database
that cannot be opened is ``DmsUnavailable`` (the runtime backs off and tries again), not a crash.
"""

from __future__ import annotations

from collections.abc import Callable

from vbcore.database.driver import Driver
from vbcore.errors import DmsUnavailable, StoreError


class LazyDatabase:
    """``open_driver()`` then ``prepare(driver)`` (e.g. create tables) on ``open`` or at first use of
    ``driver``; ``what`` names it in errors."""

    def __init__(
        self, open_driver: Callable[[], Driver], what: str, prepare: Callable[[Driver], None] | None = None
    ) -> None:
        self._open_driver, self.what, self._prepare = open_driver, what, prepare
        self._driver: Driver | None = None

    def open(self) -> None:
        if self._driver is not None:
            return
        try:
            driver = self._open_driver()
        except StoreError as exc:
            raise DmsUnavailable(f"{self.what} cannot be opened: {exc}") from exc
        try:
            if self._prepare is not None:
                self._prepare(driver)
        except StoreError as exc:
            driver.close()
            raise DmsUnavailable(f"{self.what} cannot be prepared: {exc}") from exc
        except BaseException:
            driver.close()
            raise
        self._driver = driver

    def close(self) -> None:
        if self._driver is not None:
            self._driver.close()
            self._driver = None

    @property
    def driver(self) -> Driver:
        self.open()
        assert self._driver is not None
        return self._driver


class WithDatabase:
    """Connector mixin: ``start`` opens ``self.database``, ``close`` closes it, ``db`` is its driver."""

    database: LazyDatabase

    def start(self) -> None:
        self.database.open()

    def close(self) -> None:
        self.database.close()

    @property
    def db(self) -> Driver:
        return self.database.driver
