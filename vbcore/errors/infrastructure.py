"""Infrastructure: the broker (connections, confirms, access, vhosts, queues, provisioning), the
tracking store, and configuration. None of these is a refusal: the work waits and is retried.
"""

from __future__ import annotations

from vbcore.errors.base import VbusError


class TransportError(VbusError):
    """The broker could not be reached, or refused an operation."""

    reason = "transport"
    reason_vi = "Lỗi máy chủ chuyển tin (RabbitMQ)"
    reason_en = "Broker error"


class ConnectionLost(TransportError):
    reason = "connection-lost"
    reason_vi = "Không kết nối được máy chủ chuyển tin (RabbitMQ)"
    reason_en = "The broker cannot be reached"


class PublishNotConfirmed(TransportError):
    """The broker did not confirm (nack, or returned as unroutable). ``message_ids``: every message of a
    ``publish_many`` that was not confirmed (its text names five at most); empty when not known."""

    reason = "publish-not-confirmed"
    reason_vi = "Máy chủ chuyển tin không xác nhận đã nhận thông điệp"
    reason_en = "The broker did not confirm the message"

    def __init__(
        self, message: str = "", *args: object, vi: str | None = None, message_ids: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message, *args, vi=vi)
        self.message_ids = message_ids


class StoreError(VbusError):
    """The tracking store failed."""

    reason = "store"
    reason_vi = "Lỗi kho theo dõi"
    reason_en = "Tracking store error"


class ConfigurationError(VbusError):
    """A configuration file or option is wrong."""

    reason = "configuration"
    reason_vi = "Cấu hình không hợp lệ"
    reason_en = "Configuration error"


class AccessRefused(TransportError):
    """The broker refused the operation for this user (permissions, or a spoofed ``user_id``)."""

    reason = "access-refused"
    reason_vi = "Máy chủ chuyển tin từ chối quyền truy cập"
    reason_en = "The broker refused access"


class BrokerLoginRefused(AccessRefused):
    """The broker refused the user name or password (AMQP 403 at login)."""

    reason = "broker-login-refused"
    reason_vi = "Máy chủ chuyển tin từ chối đăng nhập"
    reason_en = "The broker refused the login"


class VhostNotFound(AccessRefused):
    """The broker has no such virtual host (AMQP 530 at login)."""

    reason = "vhost-not-found"
    reason_vi = "Máy chủ chuyển tin không có vhost này"
    reason_en = "The broker has no such vhost"


class VhostNotPermitted(AccessRefused):
    """The user exists but has no permissions on the virtual host (AMQP 530 at login)."""

    reason = "vhost-not-permitted"
    reason_vi = "Người dùng không có quyền trên vhost này"
    reason_en = "The user has no permissions on this vhost"


class QueueNotFound(TransportError):
    """The named queue (or exchange) does not exist on the broker."""

    reason = "queue-not-found"
    reason_vi = "Không có hàng đợi này trên máy chủ chuyển tin"
    reason_en = "The queue does not exist on the broker"


class ProvisioningFailed(TransportError):
    """The broker's management API refused or failed a provisioning step."""

    reason = "provisioning-failed"
    reason_vi = "Không cấp phát được trên máy chủ chuyển tin"
    reason_en = "Broker provisioning failed"


class ManagementApiUnreachable(ProvisioningFailed):
    """RabbitMQ's management HTTP API does not answer (plugin off, wrong URL, broker down)."""

    reason = "management-api-unreachable"
    reason_vi = "Không kết nối được API quản trị của RabbitMQ"
    reason_en = "The RabbitMQ management API is unreachable"


class AgencyAlreadyProvisioned(ConfigurationError):
    """``vb agency add`` for an agency that has a broker user or a key and certificate already."""

    reason = "agency-exists"
    reason_vi = "Cơ quan đã được cấp phát"
    reason_en = "The agency is already provisioned"


class NotReplayable(VbusError):
    """A parked message ``vb parked replay`` will not send to the hub again (the reason says why)."""

    reason = "not-replayable"
    reason_vi = "Không gửi lại được gói tin đang lưu giữ"
    reason_en = "The parked message cannot be replayed"


class StoreUrlInvalid(ConfigurationError):
    """A store URL that names no supported database (``sqlite://...`` or ``postgresql://...``)."""

    reason = "store-url-invalid"
    reason_vi = "Địa chỉ kho theo dõi không hợp lệ"
    reason_en = "The store URL is not valid"


class StoreNotFound(StoreError):
    """A command that only reads the store was pointed at a store that does not exist."""

    reason = "store-not-found"
    reason_vi = "Không tìm thấy kho theo dõi"
    reason_en = "The tracking store does not exist"


class StoreSchemaTooNew(StoreError):
    """The database was migrated by a newer vbus than this one; opening it could corrupt it."""

    reason = "store-schema-too-new"
    reason_vi = "Kho theo dõi do phiên bản vbus mới hơn tạo"
    reason_en = "The store was written by a newer vbus"

    def __init__(self, found: int, known: int) -> None:
        self.found = found
        self.known = known
        super().__init__(
            f"the store's schema is version {found}; this vbus knows up to version {known}",
            vi=f"lược đồ của kho là phiên bản {found}; bản vbus này chỉ biết đến phiên bản {known}",
        )


class PairNotClaimed(StoreError):
    """A state change for a (document, recipient) pair that was never claimed."""

    reason = "pair-not-claimed"

    def __init__(self, document_id: str, recipient: str) -> None:
        self.document_id = document_id
        self.recipient = recipient
        super().__init__(
            f"no delivery of document {document_id} to {recipient} was claimed",
            vi=f"chưa ghi nhận việc chuyển văn bản {document_id} đến {recipient}",
        )


class LedgerOfAnotherAgency(ConfigurationError):
    """A connector's ledger opened for another agency than the one it was written for."""

    reason = "ledger-of-another-agency"
    reason_vi = "Sổ ghi của connector thuộc cơ quan khác"
    reason_en = "The connector's ledger belongs to another agency"

    def __init__(self, path: str, owner: str, agency: str) -> None:
        self.owner = owner
        self.agency = agency
        super().__init__(
            f"{path} was written by the connector of {owner}, not {agency}: give each connector its own "
            "ledger",
            vi=f"{path} là sổ ghi của connector của {owner}, không phải của {agency}: mỗi connector cần một "
            "sổ ghi riêng",
        )


class NotALedger(ConfigurationError):
    """A file given to ``vb reconcile`` as a connector's ledger is not one."""

    reason = "not-a-ledger"
    reason_vi = "Không phải sổ ghi của connector"
    reason_en = "Not a connector's ledger"

    def __init__(self, path: str) -> None:
        super().__init__(
            f"{path} is not a connector's ledger (its ledger.sqlite3, or a copy of it)",
            vi=f"{path} không phải sổ ghi của connector (tệp ledger.sqlite3 của nó, hoặc bản sao)",
        )


class LedgerOwnerUnknown(ConfigurationError):
    """A ledger written before ledgers recorded whose they are, under a name that is no agency code."""

    reason = "ledger-owner-unknown"
    reason_vi = "Không rõ sổ ghi của cơ quan nào"
    reason_en = "Whose ledger it is is unknown"

    def __init__(self, path: str) -> None:
        super().__init__(
            f"{path} does not say which agency's connector wrote it: name the copy after the agency "
            "(CODE.sqlite3), or run that connector once with this vbus",
            vi=f"{path} không ghi connector của cơ quan nào đã viết nó: đặt tên bản sao theo mã cơ quan "
            "(MÃ.sqlite3), hoặc chạy connector đó một lần với bản vbus này",
        )
# --- TLS on every link (issue 10) ---------------------------------------------------------------


class TlsRequired(ConfigurationError):
    """A plain link (``amqp://``, ``http://``, a PostgreSQL URL without ``sslmode=verify-full``) where the
    installation requires TLS (``VBUS_REQUIRE_TLS``, ``vb --require-tls``)."""

    reason = "tls-required"
    reason_vi = "Kết nối không mã hóa bị từ chối: hệ thống yêu cầu TLS"
    reason_en = "Plain connection refused: this installation requires TLS"


class TlsSettingsInvalid(ConfigurationError):
    """TLS parameters of a URL that cannot work (a file that cannot be read, a key that does not match
    its certificate, a parameter on a plain URL, verification turned off where it may not be)."""

    reason = "tls-settings"
    reason_vi = "Thiết lập TLS không hợp lệ"
    reason_en = "Invalid TLS settings"


class TlsVerificationFailed(TransportError):
    """The server's certificate did not verify (unknown CA, another host name, expired): not an outage,
    retrying cannot help."""

    reason = "tls-verification-failed"
    reason_vi = "Không xác thực được chứng thư số TLS của máy chủ"
    reason_en = "The server's TLS certificate could not be verified"


class TlsClientRefused(TransportError):
    """The server ended the TLS handshake: it does not trust the client certificate (or wants one)."""

    reason = "tls-client-refused"
    reason_vi = "Máy chủ từ chối chứng thư số TLS của bên kết nối"
    reason_en = "The server refused the client's TLS certificate"


class StoreTlsFailed(StoreError):
    """The PostgreSQL store's TLS: the server's certificate did not verify, or the server has no TLS.
    A ``StoreError`` (while the hub runs it is treated as the store being away), but ``vb`` reports it as
    a configuration to fix (exit 1), and a hub does not retry it at start."""

    reason = "store-tls"
    reason_vi = "Lỗi TLS khi kết nối kho theo dõi (PostgreSQL)"
    reason_en = "TLS error on the tracking store (PostgreSQL)"


class ArchiveMissing(StoreError):
    """The package archive does not hold the package the store names (``vbcore.store.archive``)."""

    reason = "archive-missing"
    reason_vi = "Kho lưu gói tin không có gói tin"
    reason_en = "The package archive does not hold the package"

    def __init__(self, digest: str, root: str) -> None:
        self.digest = digest
        super().__init__(
            f"no package with SHA-256 {digest} in the archive {root}",
            vi=f"kho lưu {root} không có gói tin có SHA-256 {digest}",
        )


class ArchiveCorrupt(StoreError):
    """A file of the package archive no longer has the digest it is named by: it was altered."""

    reason = "archive-corrupt"
    reason_vi = "Gói tin trong kho lưu đã bị thay đổi"
    reason_en = "A package in the archive was altered"

    def __init__(self, digest: str, path: str) -> None:
        self.digest = digest
        super().__init__(
            f"{path} no longer has the SHA-256 it is named by ({digest})",
            vi=f"{path} không còn có SHA-256 đúng với tên của nó ({digest})",
        )


class ArchiveUnavailable(StoreError):
    """The package archive cannot be written (disk full, permissions): the hub holds the batch and
    retries, as for a store outage; no package is accepted without its signed bytes kept."""

    reason = "archive-unavailable"
    reason_vi = "Không ghi được vào kho lưu gói tin"
    reason_en = "The package archive cannot be written"

    def __init__(self, root: str, error: OSError) -> None:
        super().__init__(f"{root}: {error}", vi=f"{root}: {error}")


class EvidenceNotFound(VbusError):
    """``vb evidence export`` for a document the hub's evidence log holds nothing (yet) about."""

    reason = "evidence-not-found"
    reason_vi = "Không có bằng chứng của văn bản"
    reason_en = "No evidence of the document"

    def __init__(self, document_id: str, seq: int | None = None) -> None:
        self.document_id = document_id
        if seq is None:
            super().__init__(
                f"the hub's evidence log holds no accepted or refused package of {document_id}",
                vi=f"nhật ký bằng chứng của trục không có gói tin được nhận hay bị từ chối nào của "
                f"{document_id}",
            )
        else:
            super().__init__(
                f"entry {seq} of {document_id} is after the log's last checkpoint; run again",
                vi=f"mục {seq} của {document_id} nằm sau điểm chốt cuối của nhật ký; hãy chạy lại",
            )
