"""What the broker's refusals mean for the person who must fix them, in one line that names the fix.

Both transports (pika for the hub, kombu for agencies) hand the broker's reply text here. RabbitMQ's
texts are stable and name what is missing: ``ACCESS_REFUSED - Login was refused`` (user or password),
``NOT_ALLOWED - vhost X not found``, ``NOT_ALLOWED - access to vhost 'X' refused for user 'U'``,
``NOT_FOUND - no queue 'Q' in vhost 'V'``. Each becomes its own error (``vbcore.errors``) saying which
user, which broker (URL without the password), which vhost or queue, and the ``vb`` command that fixes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vbcore.errors import (
    AccessRefused,
    BrokerLoginRefused,
    QueueNotFound,
    TransportError,
    VhostNotFound,
    VhostNotPermitted,
)


@dataclass(frozen=True)
class BrokerContext:
    """Who connects where: what a login refusal must name. ``url`` is already masked."""

    user: str
    url: str
    vhost: str


_LOGIN_REFUSED = "ACCESS_REFUSED - Login was refused"
_VHOST_MISSING = re.compile(r"NOT_ALLOWED - vhost (?P<vhost>.+?) not found")
_VHOST_DENIED = re.compile(
    r"NOT_ALLOWED - access to vhost '(?P<vhost>[^']*)' refused for user '(?P<user>[^']*)'"
)
_NO_QUEUE = re.compile(
    r"NOT_FOUND - no (?P<what>queue|exchange) '(?P<name>[^']*)' in vhost '(?P<vhost>[^']*)'"
)
_INBOX = re.compile(r"\.inbox\.(?P<code>.+)$")
_NOT_THIS_USER = re.compile(
    r"user_id property set to '(?P<claimed>[^']*)' but authenticated user was '(?P<user>[^']*)'"
)


def explain(text: str, context: BrokerContext | None) -> TransportError | None:
    """The error that says what to do about the broker's ``text``, or None if it is none of the above."""
    user = context.user if context else "?"
    where = f" at {context.url}" if context else ""
    where_vi = f" tại {context.url}" if context else ""
    if _LOGIN_REFUSED in text and "EXTERNAL" in text:  # a client certificate (vbcore.tls)
        return BrokerLoginRefused(
            f"user {user}{where}: the broker has no user named as the client certificate's CN, or it "
            "does not take EXTERNAL logins (`vb agency add CODE --tls-client` issues a certificate for "
            "the agency's user; see docs/deployment-tls.md)",
            vi=f"người dùng {user}{where_vi}: máy chủ không có người dùng trùng tên với CN của chứng thư số, "
            "hoặc không nhận đăng nhập EXTERNAL (`vb agency add MÃ --tls-client` cấp chứng thư số cho "
            "người dùng của cơ quan; xem docs/deployment-tls.md)",
        )
    if _LOGIN_REFUSED in text:
        return BrokerLoginRefused(
            f"user {user}{where}: check the user name and password (an agency's broker user is created "
            "by `vb agency add CODE`)",
            vi=f"người dùng {user}{where_vi}: hãy kiểm tra tên người dùng và mật khẩu (người dùng của một "
            "cơ quan được tạo bằng `vb agency add MÃ`)",
        )
    if m := _VHOST_MISSING.search(text):
        vhost = m["vhost"]
        return VhostNotFound(
            f"vhost {vhost!r} does not exist{where}: give the installation's vhost with --vhost (or "
            f"VBUS_VHOST), or create it on the broker (rabbitmqctl add_vhost {vhost})",
            vi=f"vhost {vhost!r} không tồn tại{where_vi}: hãy chỉ đúng vhost của hệ thống bằng --vhost (hoặc "
            f"VBUS_VHOST), hoặc tạo nó trên máy chủ (rabbitmqctl add_vhost {vhost})",
        )
    if m := _VHOST_DENIED.search(text):
        vhost, user = m["vhost"], m["user"]
        return VhostNotPermitted(
            f"user {user} has no permissions on vhost {vhost!r}{where}: give the vhost it was provisioned "
            f"in with --vhost, or provision it in this one (vb agency add CODE --vhost {vhost})",
            vi=f"người dùng {user} không có quyền trên vhost {vhost!r}{where_vi}: hãy chỉ vhost nơi nó "
            "đã được cấp phát bằng --vhost, hoặc cấp phát nó trong vhost này "
            f"(vb agency add MÃ --vhost {vhost})",
        )
    if m := _NOT_THIS_USER.search(text):
        claimed, user = m["claimed"], m["user"]
        return AccessRefused(
            f"the broker logged this connection in as {user}{where}, by its password or its client "
            f"certificate (whose CN is the user), and refuses a message whose user_id says it is from "
            f"{claimed}: send as {claimed} with {claimed}'s own password or certificate",
            vi=f"máy chủ đã đăng nhập kết nối này là {user}{where_vi}, theo mật khẩu hoặc chứng thư số của "
            f"nó (CN của chứng thư là tên người dùng), và từ chối thông điệp có user_id ghi là của "
            f"{claimed}: hãy gửi với tư cách {claimed} bằng mật khẩu hoặc chứng thư số của chính {claimed}",
        )
    if m := _NO_QUEUE.search(text):
        return _missing(m["what"], m["name"], m["vhost"])
    return None


def _missing(what: str, name: str, vhost: str) -> QueueNotFound:
    what_vi = "hàng đợi" if what == "queue" else "exchange"
    head = f"{what} {name} does not exist in vhost {vhost!r}"
    head_vi = f"{what_vi} {name} không tồn tại trong vhost {vhost!r}"
    if inbox := _INBOX.search(name):
        code = inbox["code"]
        return QueueNotFound(
            f"{head}: agency {code} is not provisioned there (vb agency add {code} --vhost {vhost}), or "
            "--prefix/--vhost name another installation",
            vi=f"{head_vi}: cơ quan {code} chưa được cấp phát ở đó (vb agency add {code} --vhost {vhost}), "
            "hoặc --prefix/--vhost chỉ sang một hệ thống khác",
        )
    return QueueNotFound(
        f"{head}: the hub has not declared its queues there yet (start `vb hub run` once), or "
        "--prefix/--vhost name another installation",
        vi=f"{head_vi}: trục chưa khai báo các hàng đợi của nó ở đó (hãy chạy `vb hub run` một lần), hoặc "
        "--prefix/--vhost chỉ sang một hệ thống khác",
    )
