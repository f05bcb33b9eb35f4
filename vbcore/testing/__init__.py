"""What tests, benchmarks and the demo build on, kept out of the production import graph: the
development world (``devworld``: six agencies, a development PKI, a hub in memory) and the connector
conformance kit (``conformance``, a pytest plugin a vendor enables with ``-p vbcore.testing.conformance``).
Nothing below ``vbcore.cli`` imports this package (``lint-imports`` checks it).
"""
