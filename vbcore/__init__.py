"""vbus core: the edXML model, reading and writing, schemas, signatures, directory, hub and connectors."""

__version__ = "0.1.0"
