"""The axis HTTP client against the stand-in: signed headers, error answers, retries, timeouts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from connectors.axis_bridge import AxisAddressBook, bridged_directory
from connectors.axis_client import (
    HASH_HEADER,
    AxisAgency,
    AxisClient,
    BadSignature,
    sign_headers,
    verify_headers,
)
from connectors.axis_standin import AxisStandIn, StandInAgency
from vbcore.edxml import write_package
from vbcore.errors import (
    AxisAuthenticationFailed,
    AxisRefused,
    AxisUnavailable,
    ClosedAgencyCode,
    DmsRefused,
    DmsUnavailable,
)
from vbcore.model import Edoc, Organization

SECRETS = {"vbus-bridge": "s3cret", "bo-y-te": "another"}
BYT = StandInAgency("BYT", "bo-y-te", "Bộ Y tế", code102="000.00.00.G18", old_code="000.00.00.G99")


@pytest.fixture
def axis() -> Iterator[AxisStandIn]:
    with AxisStandIn(SECRETS, [BYT]) as axis:
        yield axis


def client(
    axis: AxisStandIn, *, secret: str = "s3cret", sleeps: list[float] | None = None, **kw: float
) -> AxisClient:
    pauses = sleeps if sleeps is not None else []
    return AxisClient(axis.url, system_id="vbus-bridge", secret=secret, sleep=pauses.append, **kw)  # type: ignore[arg-type]


def test_signed_headers_carry_the_metadata_and_verify_with_the_secret() -> None:
    headers = sign_headers(
        {"docid": "axis-1", "description": "Sai thẩm quyền; gửi lại"},
        system_id="vbus-bridge",
        secret="s3cret",
        timestamp="2026-11-24T01:00:00.000000Z",
    )
    assert headers["XroadVnpt-sign-header-key"] == "timestamp;systemid;docid;description"
    assert set(json.loads(headers["XroadVnpt-sign-header"])) == {
        "timestamp",
        "systemid",
        "docid",
        "description",
    }
    assert all(h.isascii() for h in headers.values())
    meta = verify_headers(headers, SECRETS)
    assert meta["description"] == "Sai thẩm quyền; gửi lại"


def test_a_header_changed_after_signing_is_caught() -> None:
    headers = sign_headers({"docid": "axis-1"}, system_id="vbus-bridge", secret="s3cret", timestamp="t")
    headers["XroadVnpt-docid"] = "axis-2"
    with pytest.raises(BadSignature, match="differs from its signed value"):
        verify_headers(headers, SECRETS)


def test_a_wrong_secret_is_answered_401_with_an_error_body(axis: AxisStandIn) -> None:
    headers = sign_headers(
        {"messagetype": "edoc"},
        system_id="vbus-bridge",
        secret="wrong",
        timestamp="2026-11-24T01:00:00.000000Z",
    )
    request = urllib.request.Request(f"{axis.url}/getReceivedEdocList", headers=headers)
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=5)
    assert raised.value.code == 401
    body = json.loads(raised.value.read())
    assert body["status"] == "FAIL"
    assert HASH_HEADER in body["ErrorDesc"]


def test_a_wrong_secret_is_an_outage_to_retry_not_a_refusal(axis: AxisStandIn) -> None:
    sleeps: list[float] = []
    with pytest.raises(AxisAuthenticationFailed, match="HTTP 401") as raised:
        client(axis, secret="wrong", sleeps=sleeps).received_edoc_list()
    assert isinstance(raised.value, DmsUnavailable)
    assert axis.requests == [("getReceivedEdocList", 401)]  # asked once: the same secret fails again
    assert sleeps == []


def test_a_stale_timestamp_is_answered_401() -> None:
    with (
        AxisStandIn(SECRETS, [BYT], max_skew_s=-1) as axis,
        pytest.raises(AxisAuthenticationFailed, match="timestamp"),
    ):
        client(axis).agencies()


def test_a_read_is_retried_with_backoff_through_5xx(axis: AxisStandIn) -> None:
    sleeps: list[float] = []
    axis.fail_next(2, status=503)
    assert client(axis, sleeps=sleeps, attempts=3, backoff=0.5).received_edoc_list() == []
    assert sleeps == [0.5, 1.0]
    assert [s for _, s in axis.requests] == [503, 503, 200]


def test_a_read_that_keeps_failing_becomes_an_outage(axis: AxisStandIn) -> None:
    axis.fail_next(3, status=502)
    with pytest.raises(AxisUnavailable, match="HTTP 502"):
        client(axis, attempts=3).received_edoc_list()


def test_send_edoc_is_tried_once_so_a_document_is_never_posted_twice_by_the_client(axis: AxisStandIn) -> None:
    axis.fail_next(1, status=500)
    with pytest.raises(AxisUnavailable, match="HTTP 500"):
        client(axis, attempts=3).send_edoc(b"<x/>", from_="000.00.00.G22", to=["BYT"])
    assert axis.requests == [("sendEdoc", 500)]
    assert axis.messages == []


def test_a_timeout_is_an_outage(axis: AxisStandIn) -> None:
    axis.stall_next(1, seconds=1.0)
    with pytest.raises(AxisUnavailable, match=r"no answer within 0\.1 s"):
        client(axis, timeout=0.1, attempts=1).agencies()


def test_an_axis_that_is_not_listening_is_an_outage() -> None:
    dead = AxisStandIn(SECRETS)
    url = dead.url
    dead.stop()
    with pytest.raises(AxisUnavailable, match="cannot connect"):
        AxisClient(url, system_id="vbus-bridge", secret="s3cret", attempts=1).agencies()


def test_a_4xx_is_a_refusal_with_the_axis_reason(axis: AxisStandIn) -> None:
    with pytest.raises(AxisRefused, match=r"agency 000\.00\.00\.X01 is not on this axis") as raised:
        client(axis).send_edoc(b"<x/>", from_="000.00.00.G22", to=["000.00.00.X01"])
    assert isinstance(raised.value, DmsRefused)


def test_a_posted_document_reaches_the_mailbox_of_the_addressee_system_only(axis: AxisStandIn) -> None:
    doc_id = client(axis).send_edoc(b"<edXML/>", from_="000.00.00.G22", to=["BYT"])
    assert [m.doc_id for m in axis.mailbox("bo-y-te")] == [doc_id]
    assert axis.mailbox("vbus-bridge") == []
    remote = AxisClient(axis.url, system_id="bo-y-te", secret="another")
    [item] = remote.received_edoc_list()
    assert (item.doc_id, item.from_, item.to) == (doc_id, "000.00.00.G22", ("BYT",))
    assert remote.get_edoc(doc_id) == b"<edXML/>"
    remote.update_status(doc_id, "fail", "Không đúng thẩm quyền")
    assert remote.received_edoc_list() == []
    assert axis.messages[0].reasons == {"bo-y-te": "Không đúng thẩm quyền"}
    assert [i.status for i in client(axis).sent_edoc_list()] == ["fail"]


def test_without_a_to_header_the_stand_in_routes_by_the_package_addressees(axis: AxisStandIn) -> None:
    edoc = Edoc(from_=Organization("000.00.00.G22"), to=(Organization("000.00.00.G18"),), subject="V/v thử")
    client(axis).send_edoc(write_package(edoc), from_="000.00.00.G22")
    assert len(axis.mailbox("bo-y-te")) == 1


def test_another_system_cannot_read_or_acknowledge_a_package_that_is_not_in_its_mailbox(
    axis: AxisStandIn,
) -> None:
    doc_id = client(axis).send_edoc(b"<edXML/>", from_="000.00.00.G22", to=["BYT"])
    with pytest.raises(AxisRefused, match="HTTP 404"):
        client(axis).get_edoc(doc_id)


def test_the_agencies_list_maps_axis_codes_and_edxml_codes(axis: AxisStandIn) -> None:
    assert client(axis).agencies() == [AxisAgency("BYT", "000.00.00.G18", "000.00.00.G99", "Bộ Y tế")]
    book = AxisAddressBook(client(axis))
    assert (book.axis_code("000.00.00.G18"), book.code102("BYT")) == ("BYT", "000.00.00.G18")
    assert book.axis_code("000.00.00.G99") == "BYT"  # a renamed agency's old code still reaches it
    assert book.axis_code("000.00.00.H24") == "000.00.00.H24"  # not on that axis: unchanged


def test_the_bridged_directory_closes_an_old_code_with_its_successor() -> None:
    directory = bridged_directory([AxisAgency("BYT", "000.00.00.G18", "000.00.00.G99", "Bộ Y tế")])
    assert directory.resolve("000.00.00.G18").name == "Bộ Y tế"
    with pytest.raises(ClosedAgencyCode, match=r"000\.00\.00\.G18"):
        directory.resolve("000.00.00.G99")


def test_the_stand_in_runs_as_a_program() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "connectors.axis_standin", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert "--system ID:SECRET" in result.stdout


def test_the_stand_in_program_serves_the_interface_until_stopped() -> None:
    program = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "connectors.axis_standin",
            "--port",
            "0",
            "--system",
            "cli:secret",
            "--agency",
            "000.00.00.G18:cli:Bộ Y tế",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert program.stdout is not None
        found = re.search(r"http://127\.0\.0\.1:\d+", program.stdout.readline())
        assert found is not None
        agencies = AxisClient(found.group(0), system_id="cli", secret="secret", timeout=10).agencies()
        assert [(a.code, a.name) for a in agencies] == [("000.00.00.G18", "Bộ Y tế")]
    finally:
        program.terminate()
        program.wait(timeout=30)
