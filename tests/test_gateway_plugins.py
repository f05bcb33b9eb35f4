"""Gateway plugins are found by entry point (group vbus.gateways) and checked when they load."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

import pytest

from connectors.axis_gateway import AxisGateway
from vbcore.connector import plugins
from vbcore.connector.gateway import GROUP, Gateway
from vbcore.errors import ConnectorLoadError


class HalfDone(Gateway):
    name, version = "half", "0.1"

    def take(self) -> list[Any]:
        return []


def entry_points_of(*eps: EntryPoint) -> Any:
    return lambda group: list(eps) if group == GROUP else []


def test_the_axis_gateway_is_installed_under_its_name() -> None:
    assert plugins.load_gateway("axis") is AxisGateway


def test_an_unknown_gateway_names_the_installed_ones() -> None:
    expected = r"no gateway plugin named 'nosuch' is installed \(installed: axis"
    with pytest.raises(ConnectorLoadError, match=expected):
        plugins.load_gateway("nosuch")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("connectors.axis_gateway:MESSAGE_TYPES", "is not a subclass of vbcore.connector.gateway.Gateway"),
        (f"{__name__}:HalfDone", "does not implement mark_refused, mark_taken, post"),
        ("no_such_module_xyz:Thing", "cannot be imported: ModuleNotFoundError"),
    ],
)
def test_a_broken_gateway_plugin_is_refused_saying_what_is_wrong(
    monkeypatch: pytest.MonkeyPatch, value: str, problem: str
) -> None:
    monkeypatch.setattr(plugins, "entry_points", entry_points_of(EntryPoint("broken", value, GROUP)))
    with pytest.raises(ConnectorLoadError, match=problem):
        plugins.load_gateway("broken")
