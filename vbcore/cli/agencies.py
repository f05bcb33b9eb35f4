"""``vb agencies``: list, show, search and check the agency directory (shipped, or with an operator's).

Text in the language of ``vb --lang`` (kinds and states named for people); ``--json`` keeps the
directory's own values (``kind: ministry``) for scripts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vbcore.cli.output import (
    agency_label,
    current_lang,
    directory_option,
    echo_json,
    fail,
    failed,
    json_option,
    load_directory,
    table,
)
from vbcore.directory import KINDS, Agency, Directory
from vbcore.errors import InvalidAgencyCode
from vbcore.identifiers import is_test_tenant, parse_code
from vbcore.lang import Lang, Text

_KINDS = {
    "government-office": Text("Văn phòng Chính phủ", "government office"),
    "ministry": Text("bộ, cơ quan ngang bộ", "ministry"),
    "province-ubnd": Text("UBND tỉnh, thành phố", "provincial People's Committee"),
    "province-hdnd": Text("HĐND tỉnh, thành phố", "provincial People's Council"),
    "unit": Text("đơn vị", "unit"),
    "test-tenant": Text("mã thử nghiệm", "test tenant"),
}
_T = {
    "head": Text("mã|loại|trạng thái|tên", "code|kind|state|name"),
    "open": Text("đang sử dụng", "open"),
    "closed": Text("đã ngừng sử dụng", "closed"),
    "closed_to": Text("đã ngừng sử dụng → {code}", "closed → {code}"),
    "closed_by": Text("đã ngừng sử dụng theo {by}", "closed by {by}"),
    "short_name": Text("tên viết tắt", "short name"),
    "kind": Text("loại", "kind"),
    "parent": Text("cơ quan cấp trên", "parent"),
    "state": Text("trạng thái", "state"),
    "successor": Text("kế thừa", "successor"),
    "closed_too": Text(" (cũng đã ngừng sử dụng)", " (closed too)"),
    "none": Text("không có", "none"),
    "former_name": Text("tên cũ", "former name"),
    "took_over": Text("tiếp nhận", "took over"),
    "unit": Text("đơn vị", "unit"),
    "note": Text("ghi chú", "note"),
    "certificate": Text("chứng thư số", "certificate"),
    "registered": Text("đã đăng ký", "registered"),
    "not_registered": Text("chưa đăng ký", "none registered"),
    "not_in": Text("{code} không có trong danh bạ ({source})", "{code} is not in the directory ({source})"),
    "no_match": Text("không có cơ quan nào khớp với {text!r}", "no agency matches {text!r}"),
    "no_problems": Text("{n} cơ quan, không có lỗi ({source})", "{n} agencies, no problems ({source})"),
}


def _kind(kind: str, lang: Lang) -> str:
    known = _KINDS.get(kind)
    return known(lang) if known else kind


@click.group()
def agencies() -> None:
    """The agency directory: who a code names, and where closed codes went (QĐ 09/2025/QĐ-TTg)."""


def _state(directory: Directory, a: Agency, lang: Lang) -> str:
    if not a.closed:
        return _T["open"](lang)
    chain = directory.successor_chain(a.code)
    return _T["closed_to"].format(code=chain[-1].code)(lang) if chain else _T["closed"](lang)


def _rows(directory: Directory, found: list[Agency], lang: Lang) -> list[list[str]]:
    return [[a.code, _kind(a.kind, lang), _state(directory, a, lang), a.name] for a in found]


def _entry(directory: Directory, a: Agency) -> dict[str, Any]:
    d = a.to_dict()
    d["closed"] = a.closed
    if a.closed:
        d["successor_chain"] = [s.code for s in directory.successor_chain(a.code)]
    return d


def _print_list(directory: Directory, found: list[Agency], as_json: bool) -> None:
    if as_json:
        echo_json([_entry(directory, a) for a in found])
    elif found:
        lang = current_lang()
        click.echo(table(_T["head"](lang).split("|"), _rows(directory, found, lang)))


@agencies.command("list")
@click.option("--kind", type=click.Choice(KINDS), help="Only agencies of this kind.")
@click.option("--all-including-closed", "include_closed", is_flag=True, help="Also list closed codes.")
@directory_option
@json_option
def list_(kind: str | None, include_closed: bool, directory_file: Path | None, as_json: bool) -> None:
    """List the directory's agencies (open ones unless told otherwise)."""
    directory = load_directory(directory_file)
    _print_list(directory, directory.all(include_closed=include_closed, kind=kind), as_json)


@agencies.command()
@click.argument("code")
@directory_option
@json_option
def show(code: str, directory_file: Path | None, as_json: bool) -> None:
    """Everything the directory says about CODE; a closed code shows where its mail goes now."""
    directory = load_directory(directory_file)
    agency = directory.get(code)
    if agency is None:
        if not is_test_tenant(code):
            try:
                parse_code(code)
            except InvalidAgencyCode as e:
                raise failed(e) from e
        raise fail(_T["not_in"].format(code=code, source=directory.source))
    children = directory.children(code)
    predecessors = directory.predecessors(code)
    if as_json:
        d = _entry(directory, agency)
        d["children"] = [c.code for c in children]
        d["predecessors"] = [p.code for p in predecessors]
        echo_json(d)
        return
    lang = current_lang()
    fields: list[tuple[str, str]] = []
    if agency.short_name:
        fields.append(("short_name", agency.short_name))
    fields.append(("kind", _kind(agency.kind, lang)))
    if agency.parent:
        fields.append(("parent", agency_label(directory, agency.parent, lang=lang)))
    if agency.closed:
        by = agency.closed_by
        fields.append(("state", _T["closed_by"].format(by=by)(lang) if by else _T["closed"](lang)))
        chain = directory.successor_chain(code)
        for step in chain:
            too = _T["closed_too"](lang) if step.closed else ""
            fields.append(("successor", f"{step.code} {step.name}{too}"))
        if not chain:
            fields.append(("successor", agency.successor or _T["none"](lang)))
    else:
        fields.append(("state", _T["open"](lang)))
    fields += [("former_name", name) for name in agency.former_names]
    fields += [("took_over", f"{p.code} {p.name}") for p in predecessors]
    fields += [("unit", f"{c.code} {c.name}") for c in children]
    if agency.note:
        fields.append(("note", agency.note))
    fields.append(("certificate", _T["registered" if agency.certificate_pem else "not_registered"](lang)))
    width = max(len(_T[key](lang)) for key, _ in fields) + 1
    lines = [f"{agency.code}  {agency.name}"]
    lines += [f"  {(_T[key](lang) + ':').ljust(width)}  {value}" for key, value in fields]
    click.echo("\n".join(lines))


@agencies.command()
@click.argument("text")
@click.option("--open-only", is_flag=True, help="Leave closed codes out.")
@directory_option
@json_option
def search(text: str, open_only: bool, directory_file: Path | None, as_json: bool) -> None:
    """Find agencies by code, name or short name, ignoring accents and case ("ha noi" finds Hà Nội).

    Exits with 1 when nothing matches.
    """
    directory = load_directory(directory_file)
    found = directory.search(text, include_closed=not open_only)
    _print_list(directory, found, as_json)
    if not found:
        if not as_json:
            click.echo(_T["no_match"].format(text=text)(current_lang()), err=True)
        raise SystemExit(1)


@agencies.command()
@directory_option
def check(directory_file: Path | None) -> None:
    """Check the directory: successors and level-1 bodies present, no successor loops."""
    directory = load_directory(directory_file)
    lang = current_lang()
    problems = directory.problems(lang)
    for p in problems:
        click.echo(p)
    if problems:
        raise SystemExit(1)
    click.echo(_T["no_problems"].format(n=len(directory), source=directory.source)(lang))
