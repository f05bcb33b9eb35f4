"""vbcore.store."""
