"""A message's body put together as its frames arrive (issue 13): never held twice, as pika's own join did."""

from __future__ import annotations

import os
import sys

import pytest
from pika import exceptions, frame, spec
from pika.channel import ContentFrameAssembler

from vbcore.transport.assembly import BodyAssembler

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
