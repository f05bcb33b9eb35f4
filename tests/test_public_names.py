"""The names a vendor or an integrator uses are importable from the places the docs give, and the
layout left no stand-in modules behind (docs/architecture.md, CHANGELOG "Moved")."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

import pytest

import vbcore.errors
from vbcore.errors.base import VbusError

DOCUMENTED = {
    # The plugin contract: one module, the face of the connector package (docs/connectors.md).
    "vbcore.connector": [
        "Connector", "ConnectorContext", "Outgoing", "IncomingDocument", "DmsReceipt", "DmsEvent",
        "StatusUpdate", "ChangeRequest", "ChangeDecision", "DmsUnavailable", "DmsRefused", "parse_config",
    ],
    "vbcore.connector.runtime": ["ConnectorRuntime"],
    "vbcore.connector.plugins": ["discover", "load_connector", "check_connector_class"],
    # The conformance kit, a pytest plugin enabled with ``-p vbcore.testing.conformance``.
    "vbcore.testing.conformance": ["ConnectorConformance", "DmsDriver", "vbus_amqp_url",
                                   "vbus_conformance_identities"],
    "vbcore.errors": [
        "VbusError", "PackageRefused", "statement_of", "refusal_named", "printable", "MalformedPackage",
        "SchemaViolation", "SignatureInvalid", "UntrustedCertificate", "UnknownAgency", "ClosedAgencyCode",
        "SenderNotAuthorised", "DuplicatePackage", "UnknownDocument", "TransportError", "StoreError",
        "ConfigurationError", "ConnectorLoadError", "DmsUnavailable", "DmsRefused", "SendRefused",
    ],
    "vbcore.model": [
        "Edoc", "StatusPackage", "Organization", "Code", "Business", "Attachment", "Blob", "ResponseFor",
        "StaffInfo",
    ],
    "vbcore.status": ["StatusCode", "BusinessDocType", "ReceiverType"],
    "vbcore.timezones": ["VIETNAM", "VIETNAM_OFFSET", "utc_now", "vietnam_local", "vietnam_now"],
    "vbcore.edxml": ["read_package", "read_element", "write_package", "ReadResult", "ParseLimits",
                     "DEFAULT_LIMITS", "parse_xml"],
    "vbcore.edxml.schema": ["validate", "check", "explain"],
    "vbcore.security.signing": ["sign_package", "verify_package", "SigningKey", "SignaturePolicy"],
    "vbcore.security.trust": ["TrustStore"],
    "vbcore.directory": ["Directory", "Agency"],
    "vbcore.database": ["open_driver", "Driver"],
    "vbcore.store": ["open_store", "TrackingStore", "SqlStore"],
    "vbcore.store.timeline": ["read_timeline", "render_text", "timeline_json"],
    "vbcore.transport.connect": ["open_transport"],
    "vbcore.agency": ["AgencyClient", "Incoming"],
    "vbcore.agency.sending": ["package_to_send", "submit", "wait_for_verdict", "Verdict"],
    "vbcore.hub.pipeline": ["Hub"],
    "vbcore.hub.config": ["HubConfig"],
    "vbcore.testing.devworld": ["MemoryWorld", "DevKeys", "letter"],
    "vbcore.cli": ["vb"],
}  # fmt: skip

# Where these lived before the layout (CHANGELOG "Moved"): gone, not left as stand-ins.
MOVED_AWAY = [
    "vbcore.schema", "vbcore.signing", "vbcore.signature_shape", "vbcore.trust", "vbcore.pki",
    "vbcore.connector_runtime", "vbcore.connector_incoming", "vbcore.connector_retry",
    "vbcore.connector_report", "vbcore.connector_ledger", "vbcore.connector_outgoing", "vbcore.plugins",
    "vbcore.conformance", "vbcore.conformance_world", "vbcore.conformance_rabbitmq", "vbcore.devworld",
    "vbcore.demo", "vbcore.hub.sending", "vbcore.hub.timeline", "vbcore.store.driver",
    "vbcore.store.sqlite", "vbcore.store.postgres",
]  # fmt: skip


@pytest.mark.parametrize("module", sorted(DOCUMENTED))
def test_every_documented_name_imports_from_its_documented_module(module: str) -> None:
    imported = importlib.import_module(module)
    missing = [name for name in DOCUMENTED[module] if not hasattr(imported, name)]
    assert not missing, f"{module} lacks {missing}"


def test_every_error_of_the_errors_package_imports_from_vbcore_errors() -> None:
    errors = {
        cls.__name__
        for module in ("base", "reading", "signatures", "agencies", "hub", "infrastructure", "connector",
                       "sending", "evidence")
        for cls in vars(importlib.import_module(f"vbcore.errors.{module}")).values()
        if isinstance(cls, type) and issubclass(cls, VbusError) and not cls.__name__.startswith("_")
    }
    assert len(errors) > 70
    assert errors <= set(vbcore.errors.__all__)
    assert all(getattr(vbcore.errors, name).__name__ == name for name in errors)


@pytest.mark.parametrize("module", MOVED_AWAY)
def test_a_module_that_moved_left_no_stand_in_behind(module: str) -> None:
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(module)


def test_installing_vbus_adds_no_plugin_to_every_pytest_run() -> None:
    ours = [ep for ep in entry_points(group="pytest11") if ep.value.startswith(("vbcore", "connectors"))]
    assert ours == []
