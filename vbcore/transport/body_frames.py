"""A message's body to and from AMQP frames with no second copy of it (issue 13, item 3).

pika copies a large body whole on both sides. Receiving, it keeps every body frame (128 KiB each) until
the last has come, then joins them: frames and body held at once. Publishing, it marshals every body
frame of the message (a slice and a concatenation each) before writing any to the socket: body and
frames held at once. For a 67 MiB package (a 50 MB attachment) each is a second 67 MiB in every process
that sends or receives it.

- ``BodyAssembler`` (``assemble_in_one_buffer``, on each channel the transport consumes or gets from)
  writes each frame into one growing buffer as it comes and lets the frame go; the body handed over is
  that buffer itself (``BytesIO.getvalue`` gives it without a copy).
- ``send_bodies_as_views`` (on each connection) writes a message's body frames to the socket's buffer as
  their header, a ``memoryview`` of the body and the frame end: the bytes on the wire are pika's, and
  nothing is copied (the body is the publisher's until its confirm, so it outlives the writes).
"""

from __future__ import annotations

import io
import struct
import types
from typing import Any

from pika import exceptions, frame, spec
from pika.channel import ContentFrameAssembler

_FRAME_END = bytes([spec.FRAME_END])


class BodyAssembler(ContentFrameAssembler):  # type: ignore[misc]  # pika: untyped here
    """pika's ``ContentFrameAssembler``, writing each body frame into one buffer."""

    def __init__(self) -> None:
        super().__init__()
        self._body = io.BytesIO()

    def _handle_body_frame(self, body_frame: frame.Body) -> tuple[frame.Method, frame.Header, bytes] | None:
        header = self._header_frame
        assert header is not None  # pika's own assembler assumes it too: a body frame follows a header
        self._seen_so_far += len(body_frame.fragment)
        if self._seen_so_far > header.body_size:
            raise exceptions.BodyTooLongError(self._seen_so_far, header.body_size)
        self._body.write(body_frame.fragment)
        if self._seen_so_far == header.body_size:
            return self._finish()
        return None

    def _finish(self) -> tuple[frame.Method, frame.Header, bytes]:
        content = (self._method_frame, self._header_frame, self._body.getvalue())
        self._reset()
        return content

    def _reset(self) -> None:
        super()._reset()
        self._body = io.BytesIO()


def assemble_in_one_buffer(channel: Any) -> Any:
    """``channel`` (a ``BlockingChannel``) with a ``BodyAssembler``; returns it."""
    channel._impl._content_assembler = BodyAssembler()
    return channel


def send_bodies_as_views(connection: Any) -> Any:
    """``connection`` (a ``BlockingConnection``) publishing bodies without marshalling copies; returns it."""
    impl = connection._impl
    impl._send_message = types.MethodType(_send_message, impl)
    return connection


def _send_message(self: Any, channel_number: int, method_frame: Any, content: tuple[Any, bytes]) -> None:
    """pika's ``Connection._send_message`` (the method and header frames, then the body in frames of at
    most ``_body_max_length``), each body frame written as three pieces, its payload a view of the body."""
    properties, body = content
    length = len(body)
    frames: list[list[bytes | memoryview]] = [
        [frame.Method(channel_number, method_frame).marshal()],
        [frame.Header(channel_number, length, properties).marshal()],
    ]  # marshalled before anything is written, as pika does, in case marshalling fails
    view = memoryview(body)
    step = self._body_max_length
    for start in range(0, length, step):
        payload = view[start : start + step]
        head = struct.pack(">BHI", spec.FRAME_BODY, channel_number, len(payload))
        frames.append([head, payload, _FRAME_END])
    for pieces in frames:
        self.frames_sent += 1
        for piece in pieces:
            self.bytes_sent += len(piece)
            self._adapter_emit_data(piece)
