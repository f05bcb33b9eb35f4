"""Evidence of who sent what to whom and when (issue 9), as pure formats and checks: no SQL, no
broker. A sibling of ``directory | metadata | database``; imports ``security``, ``edxml`` and base.

``entry`` (one event of the hub's evidence log, its content hash, its link, unique UTC instants),
``statement`` (canonical JSON signed by the hub, checked offline against a trust store),
``checkpoint`` (the signed head of the chain), ``chain`` (a proof that an entry belongs to a
checkpoint; the constant-memory walk of ``vb audit verify``), ``tsa`` (RFC 3161 time-stamps on
checkpoints). Receipts and bundles (``receipt``, ``bundle``, ``timeline``) build on these.
"""
