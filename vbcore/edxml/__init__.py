"""vbcore.edxml."""
