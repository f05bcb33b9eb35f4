"""A message's body put together in one buffer as its frames arrive, not joined at the end.

pika keeps every body frame of a message (128 KiB each) until the last has come, then joins them: for
a 67 MiB package (a 50 MB attachment) the frames and the joined body are held at once, twice the
message, in every process that receives it (issue 13). ``BodyAssembler`` writes each frame into one
growing buffer as it comes and lets the frame go; the body handed over is that buffer itself
(``BytesIO.getvalue`` gives it without a copy). The same frames, checks and errors as pika's own
assembler otherwise. ``install`` puts one on a channel the transport consumes or gets from.
"""

from __future__ import annotations

import io
from typing import Any

from pika import exceptions, frame
from pika.channel import ContentFrameAssembler


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


def install(channel: Any) -> Any:
    """``channel`` (a ``BlockingChannel``) with a ``BodyAssembler``; returns it."""
    channel._impl._content_assembler = BodyAssembler()
    return channel
