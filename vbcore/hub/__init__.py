"""vbcore.hub: the hub that checks, routes and tracks every package between agencies.

Modules, one idea each: ``checks`` (size, parse, schema, signature, sender), ``routing`` (who gets a
package), ``context`` (what the routers see of the hub), ``documents`` and ``statuses`` (the routers:
planning one delivery), ``replies`` (what the hub publishes, its signed 02s), ``pipeline`` (``Hub``:
batches of deliveries, crash-safe order of effects), ``runner`` (``vb hub run``'s loop and SIGTERM),
``parked`` (operators' parked-message commands), ``admin`` (``vb agency add``), ``migrate``
(``vb hub migrate``). Import from those modules; this package module stays empty so importing
``vbcore.hub.config`` is cheap.
"""
