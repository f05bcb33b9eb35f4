"""Who signed a package and whether to believe it: XML-DSig signing and verifying (``signing``), the
signature's shape checked before any cryptography (``signature_shape``), trust anchors and chains
(``trust``), keys and certificates (``pki``). Imports ``vbcore.edxml`` and the base modules only.
"""
