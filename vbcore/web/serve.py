"""Serving the board: uvicorn, the one module that imports it.

uvicorn is the ASGI server FastAPI documents and tests with; one process serves the board, and
several may run behind a load balancer (sessions live in the store). ``Server`` runs it in a thread for
the demo and the tests, which stop it cleanly."""

from __future__ import annotations

import threading
import time

import uvicorn

from vbcore.web.app import BoardContext, create_app

STARTUP_TIMEOUT = 10.0  # seconds


def serve(board: BoardContext, *, host: str, port: int) -> None:
    """Serve until interrupted (Ctrl-C, SIGTERM). Uvicorn's access log stays off: the board logs its
    own events (logins, actions) without secrets, and URLs carry none either."""
    uvicorn.run(create_app(board), host=host, port=port, access_log=False, log_level="warning",
                server_header=False)  # fmt: skip


class Server:
    """The board in a background thread (``start`` returns once it listens; ``stop`` ends it)."""

    def __init__(self, board: BoardContext, *, host: str = "127.0.0.1", port: int = 0) -> None:
        app = create_app(board)
        config = uvicorn.Config(
            app, host=host, port=port, access_log=False, log_level="warning", server_header=False
        )
        self._server = uvicorn.Server(config)
        self._where = f"{host}:{port}"
        self._thread = threading.Thread(target=self._server.run, name="vbus-web", daemon=True)

    def start(self) -> str:
        """Start and return the base URL (``http://127.0.0.1:PORT``); ``OSError`` if it cannot listen."""
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise OSError(f"the web board could not listen on {self._where} (is the port taken?)")
            time.sleep(0.02)
        sockets = [s for server in self._server.servers for s in server.sockets]
        host, port = sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=STARTUP_TIMEOUT)
