"""The axis bridge and the axis gateway take their system's secret from ``secret`` or ``secret_file``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connectors.axis_bridge import AxisBridgeConnector
from connectors.axis_gateway import AxisGateway
from vbcore.connector import ConnectorContext
from vbcore.connector.gateway import GatewayContext
from vbcore.errors import ConfigurationError

URL = "http://127.0.0.1:9/api"  # never called: building a plugin makes no HTTP call


def bridge(config: dict[str, Any], tmp_path: Path) -> Any:
    return AxisBridgeConnector.from_config(config, ConnectorContext("000.00.00.H24", tmp_path))


def gateway(config: dict[str, Any], tmp_path: Path) -> Any:
    return AxisGateway.from_config(config, GatewayContext("gw.truc-quoc-gia", tmp_path))


PLUGINS = [
    pytest.param(bridge, "axis-bridge", id="bridge"),
    pytest.param(gateway, "axis gateway", id="gateway"),
]
Make = Callable[[dict[str, Any], Path], Any]


@pytest.mark.parametrize(("make", "who"), PLUGINS)
def test_the_secret_file_is_read_without_its_line_end(make: Make, who: str, tmp_path: Path) -> None:
    (tmp_path / "axis.secret").write_text("  s3cret\n", encoding="utf-8")
    plugin = make({"url": URL + "/", "system_id": "sys-1", "secret_file": str(tmp_path / "axis.secret"),
                   "timeout": 7, "attempts": 2}, tmp_path)  # fmt: skip
    client = plugin.client
    assert (client.base_url, client.system_id, client.secret) == (URL, "sys-1", "s3cret")
    assert (client.timeout, client.attempts) == (7.0, 2)


@pytest.mark.parametrize(("make", "who"), PLUGINS)
def test_a_secret_given_wins_and_the_file_is_not_read(make: Make, who: str, tmp_path: Path) -> None:
    plugin = make({"url": URL, "system_id": "sys-1", "secret": "given",
                   "secret_file": str(tmp_path / "missing.secret")}, tmp_path)  # fmt: skip
    assert plugin.client.secret == "given"
    assert (plugin.client.timeout, plugin.client.attempts) == (30.0, 3)


@pytest.mark.parametrize(("make", "who"), PLUGINS)
def test_an_unreadable_secret_file_is_a_configuration_error(make: Make, who: str, tmp_path: Path) -> None:
    missing = tmp_path / "missing.secret"
    with pytest.raises(ConfigurationError) as caught:
        make({"url": URL, "system_id": "sys-1", "secret_file": str(missing)}, tmp_path)
    assert str(caught.value) == (
        f"{who}: cannot read secret_file: [Errno 2] No such file or directory: '{missing}'"
    )
    assert isinstance(caught.value.__cause__, FileNotFoundError)


@pytest.mark.parametrize(("make", "who"), PLUGINS)
@pytest.mark.parametrize("options", [{}, {"secret": ""}, {"secret_file": "empty.secret"}], ids=str)
def test_no_secret_is_a_configuration_error(
    make: Make, who: str, options: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.secret").write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        make({"url": URL, "system_id": "sys-1", **options}, tmp_path)
    assert str(caught.value) == f"{who}: secret or secret_file is required"


@pytest.mark.parametrize(("make", "who"), PLUGINS)
def test_a_url_that_is_not_http_is_refused_by_the_client(make: Make, who: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"the axis URL must be http:// or https://, not 'ftp://x'"):
        make({"url": "ftp://x", "system_id": "sys-1", "secret": "s"}, tmp_path)
