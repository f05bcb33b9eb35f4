"""One language per line: every refusal reads whole in Vietnamese, or whole in English.

Three nets: every ``PackageRefused`` constructed in ``vbcore/`` and ``connectors/`` is given its
Vietnamese detail (``vi=``) or is of a class that writes one itself; every refusal class has both
statements; and the refusals real hostile and real-world inputs provoke read in one language each.
New raise sites (other helpers', future ones) are caught by the first net.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from vbcore import errors
from vbcore.errors import PackageRefused, VbusError, statement_of

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [*sorted((ROOT / "vbcore").rglob("*.py")), *sorted((ROOT / "connectors").rglob("*.py"))]



def _classes_writing_their_own_vi() -> set[str]:
    """Classes of ``vbcore/errors/`` whose own ``__init__`` passes ``vi=`` on (they take none), and
    their subclasses that do not define an ``__init__`` of their own."""
    classes = [node for path in sorted((ROOT / "vbcore" / "errors").glob("*.py"))
               for node in ast.parse(path.read_text(encoding="utf-8")).body if isinstance(node, ast.ClassDef)]
    own: set[str] = set()
    while True:  # until no class is added: a base may be defined in a module read later
        before = len(own)
        for node in classes:
            inits = [f for f in node.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"]
            passes_vi = any(isinstance(c, ast.Call) and any(k.arg == "vi" for k in c.keywords)
                            for init in inits for c in ast.walk(init))
            inherits_it = not inits and any(getattr(b, "id", None) in own for b in node.bases)
            if passes_vi or inherits_it:
                own.add(node.name)
        if len(own) == before:
            return own


# Classes whose own __init__ always writes the Vietnamese detail (they take no ``vi=``).
WRITES_ITS_OWN_VI = _classes_writing_their_own_vi()

# Words that betray an English sentence (kept out of Vietnamese, which has none of them).
ENGLISH = {
    "the", "is", "are", "was", "not", "of", "and", "or", "no", "must", "be", "has", "have", "does",
    "cannot", "only", "with", "from", "but", "it", "its", "this", "that", "which", "missing", "invalid",
    "expected", "element", "attribute", "value", "line", "column", "package", "signature", "certificate",
    "agency", "document", "attachment", "allowed", "found", "unknown", "refused", "signed", "issued",
    "serial", "expired", "valid", "before", "after", "over", "limit", "bytes", "name", "code", "sender",
}  # fmt: skip


def subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)


# Private classes (``_GaveUp``) are abstract bases: only their subclasses are raised.
REFUSALS = {cls.__name__: cls for cls in [PackageRefused, *subclasses(PackageRefused)]
            if not cls.__name__.startswith("_")}
# Errors that become a 02 without being package refusals (the DMS's own refusals).
REASONS_OF_02 = {"DmsRefused", "AxisRefused"}


def vietnamese_letters(text: str) -> set[str]:
    """Letters only Vietnamese uses here (with diacritics, and đ)."""
    return {c for c in text if c.isalpha() and not c.isascii()}


def without_data(text: str) -> str:
    """The sentence without what it quotes (values, names, paths, URIs, codes): only its own words."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"|«[^»]*»|</?[^<>\s]+>", " ", text)
    text = re.sub(r"\b(?:QĐ|NĐ)\b", " ", text)  # decrees are cited by their Vietnamese names
    text = re.sub(r"\S*\d\S*", " ", text)  # numbers, codes, serials (hex: "be" is not a word there)
    return re.sub(r"\{[^}]*\}\S*|https?://\S+|\S*[/:=@\\]\S*|\S*\.\S+", " ", text)


def english_words(text: str) -> set[str]:
    words = re.findall(r"[A-Za-z]+", without_data(text))
    return {w.lower() for w in words} & ENGLISH


def assert_one_language(err: VbusError, *, data: str = "") -> None:
    """``describe("vi")`` has no English sentence; ``describe("en")`` no Vietnamese outside ``data``."""
    vi, en = err.describe("vi"), err.describe("en")
    assert err.has_vietnamese_detail, f"{type(err).__name__} has no Vietnamese detail: {en}"
    assert not english_words(vi), f"English in the Vietnamese line of {type(err).__name__}: {vi}"
    stripped = en
    for value in data.split("\n"):
        if value:
            stripped = stripped.replace(value, " ")
    assert not vietnamese_letters(without_data(stripped)), f"Vietnamese in the English line: {en}"


# --- 1. every construction site -------------------------------------------------------------------


def construction_sites() -> Iterator[tuple[str, int, str, bool]]:
    for path in SOURCES:
        if path.parent.name == "errors" and path.parent.parent.name == "vbcore":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = getattr(func, "id", None) or getattr(func, "attr", "")
            if name in REFUSALS or name in REASONS_OF_02:
                has_vi = any(k.arg == "vi" for k in node.keywords)
                yield str(path.relative_to(ROOT)), node.lineno, name, has_vi


def test_every_refusal_constructed_in_the_code_gives_its_vietnamese_detail() -> None:
    missing = [
        f"{path}:{line} {name}(...) without vi="
        for path, line, name, has_vi in construction_sites()
        if not has_vi and name not in WRITES_ITS_OWN_VI
    ]
    assert not missing, "\n".join(missing)


def test_the_sites_are_found_at_all() -> None:
    assert sum(1 for _ in construction_sites()) > 50


# --- 2. every refusal class --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_every_refusal_class_states_itself_in_each_language(name: str) -> None:
    cls = REFUSALS[name]
    assert cls.reason_vi
    assert cls.reason_en
    assert not english_words(cls.reason_vi), cls.reason_vi
    assert not vietnamese_letters(without_data(cls.reason_en)), cls.reason_en
    assert "reason" in cls.__dict__, f"{name} shares its reason with its parent"


def test_every_error_class_states_itself_in_each_language() -> None:
    for cls in [VbusError, *subclasses(VbusError)]:
        assert not english_words(cls.reason_vi), (cls.__name__, cls.reason_vi)
        assert not vietnamese_letters(cls.reason_en), (cls.__name__, cls.reason_en)


def test_a_detail_never_falls_back_to_the_other_language() -> None:
    err = errors.TransportError("the broker said 541 INTERNAL_ERROR")
    assert err.describe("vi") == errors.TransportError.reason_vi
    assert err.describe("en") == "Broker error: the broker said 541 INTERNAL_ERROR"
    assert not err.has_vietnamese_detail


# --- 3. the refusals real inputs provoke -------------------------------------------------------------

MALFORMED = [
    b"", b"not xml", b"<a>", b"<a></b>", b"<a x='1' x='2'/>", b"<a x=1/>", b"<a x='1/>", b"<a>&foo;</a>",
    b"<a>&#0;</a>", b"<a>\x01</a>", b"<a/><b/>", b"<a><!-- -- --></a>", b"<a><![CDATA[x</a>", b"<a x></a>",
    b"<?xml version='1.0' encoding='foo'?><a/>", b"<a>\xff\xfe</a>", b"<p:a/>", b"<a><1/></a>",
    b"<a b='<'/>", b"<a>&amp</a>", b"<a xmlns:p=''/>", b"<?xml version='2.0'?><a/>", b"<a><?xml x?></a>",
    b"<a>]]></a>", b"<a></a ", b"<a:b:c/>", b"<a>&#99999999;</a>", b"<!DOCTYPE a [<!ENTITY x 'y'>]><a/>",
    b"<a>" * 300, b"<a>" * 70 + b"</a>" * 70,
]  # fmt: skip


def refusal(call: Callable[[], object]) -> PackageRefused:
    with pytest.raises(PackageRefused) as caught:
        call()
    return caught.value


def letter_bytes() -> bytes:
    from vbcore.edxml import write_package
    from vbcore.testing.devworld import letter

    return write_package(letter("000.00.00.G22", ["000.00.00.H41"], "12"))


@pytest.mark.parametrize("data", MALFORMED, ids=range(len(MALFORMED)))
def test_a_parse_error_reads_in_vietnamese_with_its_line_and_column(data: bytes) -> None:
    from vbcore.edxml.parser import parse_xml

    err = refusal(lambda: parse_xml(data))
    assert_one_language(err)
    if getattr(err, "line", None) is not None:
        assert f"(dòng {err.line}, cột {err.column})" in err.describe("vi")  # type: ignore[attr-defined]


SCHEMA_MUTATIONS = {
    "text in element-only content": (b"<edXML:From>", b"<edXML:From>hello"),
    "attribute not allowed": (b"<edXML:MessageHeader>", b"<edXML:MessageHeader foo='1'>"),
    "empty code": (re.compile(rb"<edXML:OrganId>[^<]*</edXML:OrganId>"), b"<edXML:OrganId></edXML:OrganId>"),
    "enumeration": (re.compile(rb"<edXML:Type>[^<]*</edXML:Type>"), b"<edXML:Type>abc</edXML:Type>"),
    "datatype": (re.compile(rb"<edXML:TypeDetail>[^<]*<"), b"<edXML:TypeDetail>-5<"),
    "min length": (re.compile(rb"<edXML:Subject>[^<]*</edXML:Subject>"), b"<edXML:Subject></edXML:Subject>"),
    "missing child": (re.compile(rb"<edXML:Subject>.*?</edXML:Subject>", re.S), b""),
    "unexpected child": (b"<edXML:Subject>", b"<edXML:Bogus/><edXML:Subject>"),
    "pattern": (b"<edXML:PromulgationDate>2026/11/24", b"<edXML:PromulgationDate>2026-11-24"),
    "duplicate addressee": (re.compile(rb"(<edXML:To>.*?</edXML:To>)", re.S), rb"\1\1"),
    "max length": (re.compile(rb"<edXML:OrganId>000.00.00.H41"), b"<edXML:OrganId>" + b"A" * 40 + b".H41"),
}  # fmt: skip


@pytest.mark.parametrize("mutation", sorted(SCHEMA_MUTATIONS))
def test_a_schema_problem_reads_in_vietnamese_with_the_elements_path(mutation: str) -> None:
    from vbcore.edxml import schema

    old, new = SCHEMA_MUTATIONS[mutation]
    original = letter_bytes()
    data = old.sub(new, original, count=1) if isinstance(old, re.Pattern) else original.replace(old, new, 1)
    assert data != original
    err = refusal(lambda: schema.check(data))
    assert_one_language(err)
    assert "/edXML/edXMLEnvelope/edXMLHeader" in err.describe("vi")
    for problem in schema.validate(data):
        assert not english_words(problem.describe("vi")), problem.describe("vi")
        assert "(libxml2:" not in problem.describe("vi"), problem  # each type seen here has its template


def test_the_interop_corpus_refusals_read_in_one_language(interop_dir: Path) -> None:
    from vbcore.edxml import read_package, schema

    seen = 0
    for path in sorted(interop_dir.glob("*.*ml")):
        data = path.read_bytes()
        for check in (read_package, schema.check):
            try:
                check(data)
            except PackageRefused as err:
                assert_one_language(err)
                seen += 1
    assert seen > 0


def test_refusals_of_broken_attachments_read_in_one_language() -> None:
    from vbcore.edxml import read_package

    data = letter_bytes()
    content = re.compile(rb"(<edXML:ContentTransferEncoded>)([^<]*)(</edXML:ContentTransferEncoded>)")
    for broken in (b"\xc3\xa9\xc3\xa9", b"QUJD=QUJD", b"QUJDRA==QUJD", b"QUJDR", b"UEsDBAoAAAAAAA=="):
        err = refusal(lambda b=broken: read_package(content.sub(rb"\1" + b + rb"\3", data)))
        assert_one_language(err)
    err = refusal(lambda: read_package(content.sub(b"", data)))
    assert_one_language(err)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> object:
    from vbcore.security.pki import init_dev_pki

    agencies = [("000.00.00.G22", "Văn phòng Chính phủ"), ("000.00.00.H41", "UBND tỉnh Nghệ An")]
    return init_dev_pki(tmp_path_factory.mktemp("pki"), agencies)


def test_signature_refusals_read_in_one_language(pki: Any, tmp_path: Path, interop_dir: Path) -> None:
    import datetime as dt

    from vbcore.security.pki import init_dev_pki, issue_agency_certificate, load_certificate, load_private_key
    from vbcore.security.signing import SignaturePolicy, SigningKey, sign_package, verify_package
    from vbcore.security.trust import TrustStore

    trust = TrustStore.from_pem_files([pki.ca_cert_path])
    g22 = SigningKey.from_files(pki.key_path("000.00.00.G22"), pki.cert_path("000.00.00.G22"))
    signed = sign_package(letter_bytes(), g22)

    def verify(xml: bytes, against: TrustStore = trust, **kw: Any) -> object:
        return verify_package(xml, trust=against, policy=SignaturePolicy(), **kw)

    other = init_dev_pki(tmp_path / "other", [("000.00.00.G22", "Văn phòng Chính phủ")])
    stranger = SigningKey.from_files(other.key_path("000.00.00.G22"), other.cert_path("000.00.00.G22"))
    old_key, old_cert = issue_agency_certificate(
        load_private_key(pki.ca_key_path), load_certificate(pki.ca_cert_path), "000.00.00.G22", "VPCP",
        not_before=dt.datetime(2020, 1, 1, tzinfo=dt.UTC), valid_days=30,
    )  # fmt: skip
    expired = SigningKey(old_key, (old_cert,))
    value = re.compile(rb"<ds:SignatureValue>[^<]{8}")
    cases = {
        "unsigned": lambda: verify(letter_bytes()),
        "tampered": lambda: verify(signed.replace("V/v triển khai".encode(), "V/v hủy bỏ".encode())),
        "bad value": lambda: verify(value.sub(b"<ds:SignatureValue>AAAAAAAA", signed)),
        "untrusted": lambda: verify(sign_package(letter_bytes(), stranger)),
        "expired": lambda: verify(sign_package(letter_bytes(), expired)),
        "mismatch": lambda: verify(signed, expected_agency="000.00.00.H41"),
        "two signatures": lambda: verify(signed.replace(b"</edXML:edXMLHeader>", re.search(
            rb"<ds:Signature.*?</ds:Signature>", signed, re.S).group(0) + b"</edXML:edXMLHeader>")),  # type: ignore[union-attr]
        "no certificate": lambda: verify(re.sub(rb"<ds:KeyInfo>.*?</ds:KeyInfo>", b"", signed, flags=re.S)),
        "foreign": lambda: verify((interop_dir / "bkav__edoc-webapp__edoc_update.edxml").read_bytes()),
    }  # fmt: skip
    for name, case in cases.items():
        err = refusal(case)
        assert_one_language(err, data="Văn phòng Chính phủ\nUBND tỉnh Nghệ An"), name


def test_agency_code_refusals_read_in_one_language() -> None:
    from vbcore.directory import Directory
    from vbcore.identifiers import parse_code

    directory = Directory.default()
    for code in ("", " 000.00.00.G22", "000.00.00.g22", "G22", "000..00.G22", "000.00.00.22G", "A" * 40,
                 "vxp.saas.03", "000.00.00.Z99", "000.00.00.H47", "001.00.10.H47"):  # fmt: skip
        err = refusal(lambda c=code: (parse_code(c), directory.resolve(c)))
        names = "\n".join(a.name for a in directory.all())
        assert_one_language(err, data=names)


def test_the_hubs_own_refusals_reach_the_sender_in_vietnamese(tmp_path: Path, pki: Any) -> None:
    from vbcore.model import Business, ResponseFor, StatusPackage
    from vbcore.status import BusinessDocType, StatusCode
    from vbcore.store import open_store
    from vbcore.testing.devworld import DevKeys, MemoryWorld, letter

    dev = DevKeys.create(tmp_path / "dev", [("000.00.00.G22", "VPCP"), ("000.00.00.H41", "Nghệ An"),
                                            ("000.00.00.G09", "Bộ Nội vụ"), ("vbus.hub", "hub")])  # fmt: skip
    agencies = ["000.00.00.G22", "000.00.00.H41", "000.00.00.G09"]
    world = MemoryWorld(open_store("sqlite://"), dev, agencies=agencies)
    world.start_hub()
    sent = letter("000.00.00.G22", ["000.00.00.H41", "000.00.00.H47"], "7")
    world.client("000.00.00.G22").submit(sent)
    world.client("000.00.00.G22").submit(sent)  # the same DocumentId again: duplicate
    about = ResponseFor("000.00.00.G22", "7/VB", None, sent.effective_document_id)

    def status(sender: str, code: StatusCode, response_for: ResponseFor = about) -> StatusPackage:
        return StatusPackage(from_=letter(sender, [], "1").from_, response_for=response_for, status_code=code,
                             description=code.vietnamese, timestamp=datetime(2026, 11, 24, 9, 0))  # fmt: skip

    world.client("000.00.00.G09").submit(status("000.00.00.G09", StatusCode.REGISTERED))  # not a recipient
    world.client("000.00.00.H41").submit(status("000.00.00.H41", StatusCode.REVOKE))  # only the sender
    world.client("000.00.00.G22").submit(letter(
        "000.00.00.G22", ["000.00.00.H41"], "8", business=Business(BusinessDocType.REVOKE, paper=0)
    ))  # a revoke naming no document
    nowhere = ResponseFor("000.00.00.H41", None, None, "000.00.00.G22,2026/11/24,404/VB")
    world.client("000.00.00.G22").submit(status("000.00.00.G22", StatusCode.REVOKE, nowhere))  # unknown
    world.pump()
    refusals = list(world.store.refusals())
    assert {r.reason for r in refusals} >= {
        "closed-agency", "status-not-allowed", "duplicate", "unknown-document"
    }
    for r in refusals:
        assert not english_words(r.detail), r.detail
        assert r.detail.startswith(statement_of(r.reason, "vi")), r.detail
    descriptions = [i.package.description for i in world.inbox("000.00.00.G22")]
    assert descriptions
    for text in descriptions:
        assert text is not None
        assert not english_words(text), text
