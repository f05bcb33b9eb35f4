"""A message's body to and from AMQP frames (issue 13): the bytes pika reads and writes, no second copy."""

from __future__ import annotations

import os
import sys

import pytest
from pika import exceptions, frame, spec
from pika.channel import ContentFrameAssembler
from pika.connection import Connection

from vbcore.transport import body_frames
from vbcore.transport.body_frames import BodyAssembler

FRAME = 131_064  # a body frame's payload at RabbitMQ's default frame_max


def frames(body: bytes) -> list[frame.Frame]:
    deliver = frame.Method(1, spec.Basic.Deliver(consumer_tag="c", delivery_tag=1, routing_key="k"))
    header = frame.Header(1, len(body), spec.BasicProperties(message_id="m"))
    return [deliver, header] + [frame.Body(1, body[i : i + FRAME]) for i in range(0, len(body), FRAME)]


@pytest.mark.parametrize("size", [0, 1, FRAME, 3 * FRAME + 17])
def test_the_body_is_pikas_own(size: int) -> None:
    body = os.urandom(size)
    for assembler in (BodyAssembler(), ContentFrameAssembler()):
        results = [assembler.process(f) for f in frames(body)]
        *before, (method, header, assembled) = results
        assert before == [None] * (len(results) - 1)
        assert assembled == body
        assert header.body_size == size
        assert method.method.delivery_tag == 1
    again = BodyAssembler()  # and the next message starts afresh
    for _ in range(2):
        assert [again.process(f) for f in frames(body)][-1][2] == body  # type: ignore[index]


def test_no_body_frame_is_kept_once_written() -> None:
    # pika's assembler keeps every frame until the last, then joins them: twice the body at once.
    *head, first, second, last = frames(os.urandom(3 * FRAME))
    assembler = BodyAssembler()
    for f in head:
        assembler.process(f)
    before = sys.getrefcount(first.fragment), sys.getrefcount(second.fragment)  # type: ignore[attr-defined]
    assembler.process(first)
    assembler.process(second)
    after = sys.getrefcount(first.fragment), sys.getrefcount(second.fragment)  # type: ignore[attr-defined]
    assert after == before
    assert assembler.process(last) is not None


def test_a_body_longer_than_its_header_says_is_refused_as_by_pika() -> None:
    *head, body = frames(os.urandom(100))
    assembler = BodyAssembler()
    for f in head:
        assembler.process(f)
    with pytest.raises(exceptions.BodyTooLongError):
        assembler.process(frame.Body(1, body.fragment + b"x"))  # type: ignore[attr-defined]


class Emitted:
    """What a pika connection writes to its socket's buffer (``_adapter_emit_data``)."""

    _body_max_length = FRAME

    def __init__(self) -> None:
        self.written: list[bytes | memoryview] = []
        self.frames_sent = self.bytes_sent = 0

    def _adapter_emit_data(self, data: bytes | memoryview) -> None:
        assert data  # pika's transport refuses empty writes
        self.written.append(data)

    def _output_marshaled_frames(self, frames: list[bytes]) -> None:  # what pika's own method calls
        for data in frames:
            self.frames_sent += 1
            self.bytes_sent += len(data)
            self._adapter_emit_data(data)


@pytest.mark.parametrize("size", [0, 1, FRAME, 3 * FRAME + 17])
def test_a_published_body_is_written_as_pika_writes_it_and_never_copied(size: int) -> None:
    body = os.urandom(size)
    method = spec.Basic.Publish(exchange="x", routing_key="k")
    properties = spec.BasicProperties(message_id="m", headers={"a": "b"})
    ours, pikas = Emitted(), Emitted()
    body_frames._send_message(ours, 1, method, (properties, body))
    Connection._send_message(pikas, 1, method, (properties, body))  # type: ignore[arg-type]

    assert b"".join(ours.written) == b"".join(pikas.written)
    assert (ours.frames_sent, ours.bytes_sent) == (pikas.frames_sent, pikas.bytes_sent)
    views = [piece for piece in ours.written if isinstance(piece, memoryview)]
    assert all(view.obj is body for view in views)
    assert sum(len(view) for view in views) == size
