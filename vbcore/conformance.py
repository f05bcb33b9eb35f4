"""Conformance kit for connector plugins (a pytest plugin). Being written; see vbcore.connector."""
