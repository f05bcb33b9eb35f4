"""Transports move bytes and headers between the hub and the agencies; they know no XML."""

from vbcore.transport.base import Delivery, Handler, Outgoing, Transport

__all__ = ["Delivery", "Handler", "Outgoing", "Transport"]
