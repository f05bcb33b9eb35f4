"""vbcore.hub."""
