"""edXML packages: the hardened parser, the reader and the writer (the only XML in vbus).

>>> from vbcore.edxml import read_package, write_package
>>> result = read_package(data)            # doctest: +SKIP
>>> write_package(result.package)          # doctest: +SKIP
"""

from vbcore.edxml.names import DSIG_NS, EDXML_NS
from vbcore.edxml.parser import DEFAULT_LIMITS, ParseLimits, parse_xml
from vbcore.edxml.reader import ReadResult, read_element, read_package
from vbcore.edxml.writer import write_package, write_package_to

__all__ = [
    "DEFAULT_LIMITS",
    "DSIG_NS",
    "EDXML_NS",
    "ParseLimits",
    "ReadResult",
    "parse_xml",
    "read_element",
    "read_package",
    "write_package",
    "write_package_to",
]
