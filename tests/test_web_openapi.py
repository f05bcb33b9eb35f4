"""The board's API against its own OpenAPI description, on a running server (schemathesis): every
answer has a declared status, content type and shape, and nothing answers a server error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from web_support import Board, build, csrf_of

from vbcore.web.app import SESSION_COOKIE
from vbcore.web.serve import Server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Board, str]]:
    board = build(tmp_path_factory.mktemp("board"))
    server = Server(board.context)
    url = server.start()
    yield board, url
    server.stop()
    board.demo.store.close()


@pytest.fixture(scope="module")
def operator_headers(served: tuple[Board, str]) -> dict[str, str]:
    board, _ = served
    client = board.login("operator")
    return {
        "Cookie": f"{SESSION_COOKIE}={client.cookies.get(SESSION_COOKIE)}",
        "X-CSRF-Token": csrf_of(client),
    }


@pytest.fixture(scope="module")
def api_schema(served: tuple[Board, str], operator_headers: dict[str, str]) -> Any:
    _, url = served
    return schemathesis.openapi.from_url(f"{url}/api/openapi.json", headers=operator_headers)


EXAMPLES = 15  # per operation: a short run in the suite (the full run: schemathesis's own command)


def run(operation: Any, headers: dict[str, str], codes: set[int]) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: Any) -> None:
        response = case.call(headers=headers)
        codes.add(response.status_code)
        case.validate_response(response)

    check()


def test_every_answer_matches_the_openapi_description(
    api_schema: Any, operator_headers: dict[str, str]
) -> None:
    """Each operation with generated parameters and bodies, as an operator (who may call them all).
    schemathesis's pytest plugin is not used: it does not run on this pytest; its Python API does."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    operations = [op for op in operations if op.label != "POST /api/logout"]  # it would end the session
    assert len(operations) >= 15
    answered: dict[str, set[int]] = {}
    for operation in operations:
        run(operation, operator_headers, answered.setdefault(operation.label, set()))
    # Real answers, not only refusals (a generated DocumentId is never a tracked one: 404 is its answer).
    assert all(200 in codes for label, codes in answered.items() if label != "GET /api/timeline"), answered


def test_the_description_is_served_to_logged_in_users_only(served: tuple[Board, str]) -> None:
    import httpx

    _, url = served
    assert httpx.get(f"{url}/api/openapi.json").status_code == 401
