"""The connector contract: configuration checking, plugin checks at load, the data types."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from vbcore.connector import (
    ChangeDecision,
    ChangeRequest,
    Connector,
    ConnectorContext,
    DmsEvent,
    DmsReceipt,
    IncomingDocument,
    Outgoing,
    StatusUpdate,
    parse_config,
)
from vbcore.connector.plugins import check_connector_class, load_entry_point
from vbcore.errors import ConfigurationError, ConnectorLoadError
from vbcore.lang import Lang
from vbcore.model import Edoc, Organization, StaffInfo
from vbcore.status import BusinessDocType, StatusCode


class Minimal(Connector):
    name = "minimal"
    version = "0.1"

    @dataclass(frozen=True)
    class Config:
        root: Path
        poll_seconds: float = 1.0
        strict: bool = False
        label: str | None = None

    def poll_outgoing(self) -> Iterable[Outgoing]:
        return []

    def mark_sent(self, outgoing_id: str, document_id: str) -> None:
        pass

    def mark_failed(self, outgoing_id: str, reason: str) -> None:
        pass

    def deliver(self, doc: IncomingDocument) -> DmsReceipt:
        return DmsReceipt(doc.document_id)

    def poll_events(self) -> Iterable[DmsEvent]:
        return []

    def mark_event_sent(self, event_id: str) -> None:
        pass

    def on_status(self, status: StatusUpdate) -> None:
        pass


def context(tmp_path: Path, lang: Lang = "vi") -> ConnectorContext:
    return ConnectorContext(agency="000.00.00.H24", work_dir=tmp_path, lang=lang)


def test_from_config_builds_the_typed_config(tmp_path: Path) -> None:
    config = {"root": str(tmp_path), "poll_seconds": "2.5", "strict": "yes"}
    c = Minimal.from_config(config, context(tmp_path))
    assert c.config == Minimal.Config(root=tmp_path, poll_seconds=2.5, strict=True)
    assert c.context.agency == "000.00.00.H24"


def test_unknown_configuration_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"unknown configuration key.*rot"):
        Minimal.from_config({"rot": "/x"}, context(tmp_path))


def test_missing_required_configuration_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="'root' is required"):
        Minimal.from_config({}, context(tmp_path))


def test_wrongly_typed_configuration_value_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="'poll_seconds' must be a float"):
        parse_config(Minimal.Config, {"root": "/x", "poll_seconds": "soon"}, "minimal")
    with pytest.raises(ConfigurationError, match="'strict' must be true or false"):
        parse_config(Minimal.Config, {"root": "/x", "strict": "maybe"}, "minimal")


def test_outgoing_needs_exactly_one_of_edoc_and_edxml() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        Outgoing("a")
    edoc = Edoc(from_=Organization("000.00.00.H24"), to=(Organization("000.00.00.G22"),))
    with pytest.raises(ValueError, match="exactly one"):
        Outgoing("a", edoc=edoc, edxml=b"<x/>")
    assert Outgoing("a", edxml=b"<x/>").edxml == b"<x/>"


def test_event_code_given_as_text_becomes_a_status_code() -> None:
    event = DmsEvent("e1", "doc", "3")  # type: ignore[arg-type]
    assert event.code is StatusCode.REGISTERED


def test_change_requests_are_refused_by_default(tmp_path: Path) -> None:
    c = Minimal.from_config({"root": "/x"}, context(tmp_path))
    req = ChangeRequest(BusinessDocType.REVOKE, "doc", "000.00.00.G22", "sai", StaffInfo())
    decision = c.on_change(req)
    assert decision.status_code is StatusCode.CHANGE_REFUSED
    assert decision.reason == "Hệ thống minimal không hỗ trợ thu hồi văn bản"  # Vietnamese by default
    update = dataclasses.replace(req, kind=BusinessDocType.UPDATE)
    english = Minimal.from_config({"root": "/x"}, context(tmp_path, lang="en")).on_change(update)
    assert english.reason == "minimal cannot update documents"
    assert ChangeDecision.accept().status_code is StatusCode.CHANGE_ACCEPTED
    assert ChangeDecision.pending().status_code is None


def test_a_complete_connector_passes_the_load_check() -> None:
    assert check_connector_class(Minimal, "minimal") is Minimal


@pytest.mark.parametrize("hook", ["on_revoke", "on_update", "on_replace"])
def test_a_connector_still_written_for_the_three_change_hooks_is_refused_at_load_naming_on_change(
    hook: str,
) -> None:
    def old_hook(self: Connector, request: ChangeRequest) -> ChangeDecision:
        return ChangeDecision.accept()

    written_for_three_hooks = type("Old", (Minimal,), {hook: old_hook})
    with pytest.raises(ConnectorLoadError, match=f"defines {hook}.*on_change"):
        check_connector_class(written_for_three_hooks, "old plugin")


def test_a_class_missing_a_method_is_refused_naming_the_method() -> None:
    class Incomplete(Connector):
        name = "incomplete"
        version = "1"

        def poll_outgoing(self) -> Iterable[Outgoing]:
            return []

    with pytest.raises(ConnectorLoadError, match="does not implement deliver, mark_event_sent"):
        check_connector_class(Incomplete, "plugin 'incomplete'")


def test_a_class_without_version_is_refused() -> None:
    class NoVersion(Minimal):
        version = ""

    with pytest.raises(ConnectorLoadError, match=r"NoVersion.version must be a non-empty string"):
        check_connector_class(NoVersion, "plugin")


def test_something_that_is_not_a_connector_is_refused() -> None:
    with pytest.raises(ConnectorLoadError, match=r"is not a subclass of vbcore\.connector\.Connector"):
        check_connector_class(dict, "plugin 'x'")


def test_an_entry_point_that_cannot_be_imported_names_plugin_and_problem() -> None:
    ep = EntryPoint(name="ghost", value="no_such_module_xyz:Thing", group="vbus.connectors")
    with pytest.raises(ConnectorLoadError) as info:
        load_entry_point(ep)
    assert "'ghost'" in str(info.value)
    assert "no_such_module_xyz" in str(info.value)
    assert "cannot be imported" in str(info.value)


def test_an_entry_point_naming_a_complete_class_loads() -> None:
    ep = EntryPoint(name="minimal", value=f"{__name__}:Minimal", group="vbus.connectors")
    assert load_entry_point(ep) is Minimal


def test_the_example_in_the_contracts_docstring_is_a_complete_connector(tmp_path: Path) -> None:
    import sys
    import textwrap
    import types

    import vbcore.connector as contract

    doc = contract.__doc__ or ""
    block = doc.split("A complete connector for a DMS that is a dict in memory::", 1)[1]
    code = textwrap.dedent(block.split("\n\n``on_change``", 1)[0])
    module = types.ModuleType("vbus_contract_example")
    sys.modules[module.__name__] = module
    exec(compile(code, "vbcore/connector/__init__.py docstring", "exec"), module.__dict__)
    cls = check_connector_class(module.DictConnector, "docstring example")
    c = cls.from_config({"label": "x"}, context(tmp_path))
    edoc = Edoc(from_=Organization("000.00.00.G22"), to=(Organization("000.00.00.H24"),), document_id="D")
    doc_in = IncomingDocument("D", "000.00.00.G22", edoc, b"", "m", datetime.now(UTC))
    assert c.deliver(doc_in) == c.deliver(doc_in)
