"""What real producers send is read with a named warning; what breaks meaning or security is refused,
saying why and where; `vb validate` and `vb show` make the one decision (issue 11, item 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from producers import (
    CLEAN,
    DEVIATIONS,
    PDF,
    PROVINCIAL_BUILDER,
    PROVINCIAL_BUILDER_WARNINGS,
    REFUSED,
    UNSIGNED,
    Case,
    swap,
)

from vbcore.cli import vb
from vbcore.deviations import CATALOGUE, MAX_WARNINGS, VALUE_TEXTS
from vbcore.edxml import read_package, schema
from vbcore.edxml.acceptance import examine, report
from vbcore.edxml.deviation_rules import sender_deviation
from vbcore.errors import PackageRefused
from vbcore.model import Edoc


def codes_of(case: Case) -> list[str]:
    """What the case is read with: its own warning, and "unsigned" unless its signature is the issue."""
    return [case.code] if case.code == "signature-placeholder" else [case.code, "unsigned"]


@pytest.mark.parametrize("case", DEVIATIONS, ids=lambda c: c.name)
def test_a_deviation_of_real_producers_is_read_with_its_named_warning(case: Case) -> None:
    result = examine(case.data)
    assert isinstance(result.package, Edoc)
    assert sorted(w.code for w in result.warnings) == sorted(codes_of(case))
    [warning] = [w for w in result.warnings if w.code == case.code]
    assert warning.value == case.value


@pytest.mark.parametrize("case", DEVIATIONS, ids=lambda c: c.name)
def test_the_schemas_let_each_deviation_through(case: Case) -> None:
    assert schema.validate(case.data) == []
    assert schema.explain(case.data) == []


def test_a_package_without_any_signature_is_read_as_unsigned() -> None:
    result = examine(UNSIGNED.data)
    assert [w.code for w in result.warnings] == ["unsigned"]
    assert "by default it refuses it" in result.warnings[0].describe("en")


def test_the_clean_package_reads_as_the_others_do() -> None:
    """The deviations change only what they name: the clean package reads to the same document."""
    clean = examine(CLEAN.encode()).package
    for case in DEVIATIONS:
        if case.code in {"document-type-code", "content-id-prefix"} or case.code.startswith("sender-"):
            continue  # these change a value of the model itself
        assert examine(case.data).package.subject == clean.subject, case.name


def test_a_type_code_is_kept_as_the_package_wrote_it() -> None:
    [type71] = [c for c in DEVIATIONS if c.value == "71"]
    doc = examine(type71.data).package
    assert isinstance(doc, Edoc)
    assert doc.document_type.type == 71


def test_an_attachment_named_with_cid_on_one_side_only_keeps_its_manifest_type() -> None:
    for case in (c for c in DEVIATIONS if c.code == "content-id-prefix"):
        doc = examine(case.data).package
        assert isinstance(doc, Edoc)
        [attachment] = doc.attachments
        assert attachment.content_type == "application/pdf"
        assert attachment.content.read_bytes().startswith(b"%PDF")


def test_a_provincial_builders_package_is_read_with_each_of_its_deviations_named() -> None:
    result = examine(PROVINCIAL_BUILDER.encode())
    assert isinstance(result.package, Edoc)
    assert [w.code for w in result.warnings] == PROVINCIAL_BUILDER_WARNINGS
    assert result.package.from_.organ_id == "H37.DN.001"
    assert result.package.document_type.type == 18


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.name)
def test_what_breaks_meaning_is_refused_saying_why_with_line_and_column(case: Case) -> None:
    with pytest.raises(PackageRefused) as caught:
        examine(case.data)
    err = caught.value
    assert err.reason == case.code
    assert err.line is not None
    assert err.column is not None
    located = f"(line {err.line}, column {err.column})"
    assert located in err.describe("en")
    assert f"(dòng {err.line}, cột {err.column})" in err.describe("vi")


def test_a_package_on_one_line_is_refused_at_its_column() -> None:
    """Several producers write the whole package on one line: only the column says where."""
    one_line = "".join(line.strip() for line in REFUSED[0].xml.splitlines())
    with pytest.raises(PackageRefused) as caught:
        examine(one_line.encode())
    assert caught.value.line == 1
    column = caught.value.column
    assert column is not None
    assert one_line[column - 1 :].startswith("<edXML:DigitalSignature>")


# --- the one decision: vb validate and vb show ----------------------------------------------------


@pytest.fixture
def run() -> CliRunner:
    return CliRunner(env={"VBUS_LANG": "en"})


def write(tmp_path: Path, case: Case) -> Path:
    path = tmp_path / f"{abs(hash(case.name))}.edxml"
    path.write_bytes(case.data)
    return path


@pytest.mark.parametrize("case", DEVIATIONS, ids=lambda c: c.name)
def test_validate_accepts_a_deviation_and_names_it_in_the_chosen_language(
    case: Case, run: CliRunner, tmp_path: Path
) -> None:
    path = write(tmp_path, case)
    english = run.invoke(vb, ["validate", str(path)])
    assert english.exit_code == 0, english.output
    assert f"{path}: warning [{case.code}] " in english.output
    assert english.output.strip().endswith(f"{path}: valid")
    [warning] = [w for w in examine(case.data).warnings if w.code == case.code]
    assert f"{path}: warning [{case.code}] {warning.describe('en')}\n" in english.output
    vietnamese = CliRunner(env={"VBUS_LANG": None}).invoke(vb, ["validate", str(path)])
    assert f"{path}: cảnh báo [{case.code}] {warning.describe('vi')}\n" in vietnamese.output
    where = f" (dòng {warning.line})" if warning.line is not None else ""
    value = VALUE_TEXTS[case.value].vi if case.value in VALUE_TEXTS else case.value
    assert warning.describe("vi") == CATALOGUE[case.code].vi.format(value=value) + where


@pytest.mark.parametrize("case", DEVIATIONS, ids=lambda c: c.name)
def test_show_reads_a_deviation_and_names_it(case: Case, run: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, case)
    shown = run.invoke(vb, ["show", str(path), "--json"])
    assert shown.exit_code == 0, shown.output
    assert case.code in [w["code"] for w in json.loads(shown.output)["warnings"]]


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.name)
def test_validate_and_show_both_refuse_what_breaks_meaning(
    case: Case, run: CliRunner, tmp_path: Path
) -> None:
    path = write(tmp_path, case)
    validated = run.invoke(vb, ["validate", str(path), "--json"])
    assert validated.exit_code == 1
    [found] = json.loads(validated.output)
    assert found["valid"] is False
    assert all(p["line"] is not None for p in found["problems"])
    shown = run.invoke(vb, ["show", str(path)])
    assert shown.exit_code == 1
    assert "line " in shown.output


def every_package(interop: Path | None) -> list[tuple[str, bytes]]:
    cases = [(c.name, c.data) for c in (*DEVIATIONS, UNSIGNED, *REFUSED)]
    cases.append(("provincial builder", PROVINCIAL_BUILDER.encode()))
    if interop is not None:
        cases += [
            (p.name, p.read_bytes()) for p in sorted(interop.iterdir()) if p.suffix in {".edxml", ".xml"}
        ]
    return cases


def test_show_reads_exactly_what_validate_accepts(run: CliRunner, tmp_path: Path, interop_dir: Path) -> None:
    """Today's promise: no package is read by `vb show` and refused by `vb validate`, nor the reverse,
    over the interoperability corpus and every package above."""
    disagreements = []
    for name, data in every_package(interop_dir):
        path = tmp_path / "package.edxml"
        path.write_bytes(data)
        validated = run.invoke(vb, ["validate", str(path)]).exit_code == 0
        shown = run.invoke(vb, ["show", str(path)]).exit_code == 0
        accepted = report(path).accepted
        if not validated == shown == accepted:
            disagreements.append((name, validated, shown, accepted))
    assert disagreements == []


# --- hostile: a package of thousands of deviations -------------------------------------------------


def test_thousands_of_unnamed_hops_are_one_warning() -> None:
    hop = "<edXML:TraceHeader><edXML:Timestamp>2025/10/20 08:30:00</edXML:Timestamp></edXML:TraceHeader>"
    xml = swap(CLEAN, "<edXML:Bussiness>", hop * 4000 + "<edXML:Bussiness>")
    [hops] = [w for w in examine(xml.encode()).warnings if w.code == "trace-hop-without-agency"]
    assert hops.value == ", ".join(f"#{i}" for i in range(2, 12)) + " … (+3990)"


def test_thousands_of_deviations_are_kept_to_a_bounded_summary() -> None:
    refs, atts = [], []
    for i in range(300):  # each reference writes cid:, its attachment does not
        refs.append(f"<edXML:Reference><edXML:ContentId>cid:{i}</edXML:ContentId>"
                    f"<edXML:AttachmentName>{i}.pdf</edXML:AttachmentName></edXML:Reference>")  # fmt: skip
        atts.append(f"<Attachment><ContentId>{i}</ContentId><AttachmentName>{i}.pdf</AttachmentName>"
                    f"<ContentTransferEncoded>{PDF}</ContentTransferEncoded></Attachment>")  # fmt: skip
    xml = swap(
        CLEAN, CLEAN[CLEAN.index("<edXML:Reference>") : CLEAN.index("</edXML:edXMLManifest>")], "".join(refs)
    )
    xml = swap(xml, xml[xml.index("<Attachment>") : xml.index("</AttachmentEncoded>")], "".join(atts))
    warnings = examine(xml.encode()).warnings
    assert len(warnings) == MAX_WARNINGS + 1
    assert (warnings[-1].code, warnings[-1].value) == ("more-warnings", str(300 + 1 - MAX_WARNINGS))


@pytest.mark.parametrize(
    ("code", "shape"),
    [
        ("000.00.00.G22", None),
        ("010203040506", "sender-enterprise-code"),
        ("G12", "sender-level1-only"),
        ("H37.DN.001", "sender-level1-first"),
        ("G09.01", "sender-level1-first"),
        ("H37.02.02", "sender-level1-first"),
        ("14.00.W00", "sender-general-shape"),
        ("A53.01.G22", "sender-general-shape"),  # level 1 last: the general shape, whatever comes first
        ("vxp.saas.03", "sender-test-tenant"),
        ("X1", "sender-unrecognised-code"),
    ],
)
def test_each_sender_shape_has_its_warning(code: str, shape: str | None) -> None:
    assert sender_deviation(code) == shape


def test_the_lenient_reader_alone_names_a_digital_signature_that_is_not_empty_as_unknown() -> None:
    [case] = [c for c in REFUSED if "DigitalSignature" in c.name]
    codes = [w.code for w in read_package(case.data).warnings]
    assert "unknown-element" in codes
    assert "digital-signature-placeholder" not in codes
