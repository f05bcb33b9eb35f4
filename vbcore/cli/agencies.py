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
from vbcore.directory import KINDS, RELAY_TEXT, Agency, Directory
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
    "gateway": Text("cổng kết nối trục khác", "gateway to another axis"),
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
    "via": Text("kết nối qua cổng", "reached via"),
    "relay": Text("chính sách chuyển tiếp", "relay policy"),
    "closed_on": Text("ngày ngừng", "closed on"),
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
    if agency.closed_on:
        fields.append(("closed_on", agency.closed_on.isoformat()))
    if agency.via:
        fields.append(("via", agency_label(directory, agency.via, lang=lang)))
    if agency.is_gateway:
        policy = directory.relay_policy(agency.code) or ""
        fields.append(("relay", f"{policy} ({RELAY_TEXT[policy](lang)})"))
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


# --- the other axis's list: vb agencies sync, history; other code systems: vb agencies alias --------

_SYNC = {
    "not_gateway": Text(
        "{via} không phải cổng kết nối trong danh bạ: hãy khai báo nó (kind: gateway) trong tệp danh bạ "
        "của người vận hành (--directory) trước khi đồng bộ",
        "{via} is not a gateway in the directory: declare it (kind: gateway) in the operator's directory "
        "file (--directory) before syncing",
    ),
    "summary": Text(
        "phiên bản {version}: thêm {added}, đổi tên {renamed}, ngừng {closed}, mở lại {reopened}, "
        "cập nhật {updated}; {n} cơ quan qua {via}; đã ghi {out}",
        "version {version}: {added} added, {renamed} renamed, {closed} closed, {reopened} reopened, "
        "{updated} updated; {n} agencies via {via}; written to {out}",
    ),
    "dry": Text(
        "chạy thử: thêm {added}, đổi tên {renamed}, ngừng {closed}, mở lại {reopened}, cập nhật {updated}; "
        "chưa ghi gì",
        "dry run: {added} added, {renamed} renamed, {closed} closed, {reopened} reopened, {updated} updated; "
        "nothing written",
    ),
    "skipped": Text("bỏ qua", "left out"),
    "no_history": Text("{file}: chưa có phiên bản nào", "{file}: no version yet"),
    "version": Text(
        "phiên bản {version}  {at} (giờ Việt Nam)  bởi {by}  từ {source}  ({counts})",
        "version {version}  {at} (Vietnam time)  by {by}  from {source}  ({counts})",
    ),
    "no_alias": Text(
        "{system} {code}: không mã nào như vậy vào ngày {on}", "{system} {code}: names no agency on {on}"
    ),
    "alias_ended": Text(
        "{system} {code}: không còn dùng vào ngày {on}; mã này đã chỉ {agency} đến {until}",
        "{system} {code}: not in use on {on}; it named {agency} until {until}",
    ),
    "alias": Text(
        "{system} {code} ngày {on}: {agency} (nguồn: {source})",
        "{system} {code} on {on}: {agency} (source: {source})",
    ),
}


@agencies.command()
@click.option("--gateway", "plugin", default="axis", show_default=True,
              help="The gateway plugin that reads the other axis's agency list (entry point vbus.gateways).")
@click.option("--config", "config_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The gateway's configuration (the same file `vb gateway run` reads).")
@click.option("--via", required=True, help="The gateway's code: the listed agencies are reached via it.")
@click.option("--local", "local", multiple=True, metavar="CODE",
              help="A level-1 body of this hub (e.g. 000.00.00.H41): its agencies stay off (repeatable).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The synced directory file (its history is kept in OUT.history/); "
              "`vb hub run --directory` reads it.")
@click.option("--by", "by", default=None, help="Who applies it, for the history [default: user@host].")
@click.option("--dry-run", is_flag=True, help="Show the difference only; write nothing.")
@directory_option
@json_option
def sync(plugin: str, config_path: Path, via: str, local: tuple[str, ...], out: Path, by: str | None,
         dry_run: bool, directory_file: Path | None, as_json: bool) -> None:  # fmt: skip
    """Take the directory from another axis's agency list: show what changed (added, renamed, closed
    with successor, reopened) and apply it as the next version of OUT, with its history.

    A running hub given OUT with --directory uses the new version within a second, without a restart."""
    import getpass
    import socket
    from datetime import UTC, datetime

    from vbcore.connector.gateway import GatewayContext
    from vbcore.connector.plugins import load_gateway
    from vbcore.directory.sync import CHANGE_KINDS, plan_sync
    from vbcore.directory.versions import SyncedDirectory
    from vbcore.mapping_files import load_mapping
    from vbcore.timezones import vietnam_now

    lang = current_lang()
    known = load_directory(directory_file)
    if known.relay_policy(via) is None:
        raise fail(_SYNC["not_gateway"].format(via=via))
    context = GatewayContext(via, Path.cwd(), lang=lang)
    gateway = load_gateway(plugin).from_config(load_mapping(config_path), context)
    listed = gateway.agencies()
    target = SyncedDirectory(out)
    _, previous = target.load()
    source = gateway.source
    plan = plan_sync(previous, listed, via=via, source=source, today=vietnam_now().date(), local=local,
                     known=known)  # fmt: skip
    counts = plan.counts()
    if as_json:
        echo_json({"changes": [c.to_json() for c in plan.changes], "skipped": [s(lang) for s in plan.skipped],
                   "counts": counts, "applied": not dry_run})  # fmt: skip
    else:
        for change in plan.changes:
            click.echo(change.line(lang))
        for skipped in plan.skipped:
            click.echo(f"{_SYNC['skipped'](lang)}: {skipped(lang)}", err=True)
    if dry_run:
        if not as_json:
            click.echo(_SYNC["dry"].format(**counts)(lang))
        return
    who = by or f"{getpass.getuser()}@{socket.gethostname()}"
    version = target.apply(plan, by=who, source=source, at=datetime.now(UTC))
    if not as_json:
        n = sum(1 for a in plan.agencies if not a.closed)
        click.echo(_SYNC["summary"].format(version=version.number, n=n, via=via, out=out,
                                           **{k: counts[k] for k in CHANGE_KINDS})(lang))  # fmt: skip


@agencies.command()
@click.argument("synced", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--changes", is_flag=True, help="List each version's changes too.")
@json_option
def history(synced: Path, changes: bool, as_json: bool) -> None:
    """Every version of a synced directory file: when, by whom, from where, and what changed."""
    from vbcore.directory.versions import SyncedDirectory, change_lines
    from vbcore.store.timeline import local

    lang = current_lang()
    versions = SyncedDirectory(synced).history()
    if as_json:
        echo_json([v.to_json() for v in versions])
        return
    if not versions:
        click.echo(_SYNC["no_history"].format(file=synced)(lang))
    for v in versions:
        counts = ", ".join(f"{kind} {n}" for kind, n in sorted(v.counts().items())) or "-"
        click.echo(_SYNC["version"].format(version=v.number, at=local(v.at), by=v.by, source=v.source,
                                           counts=counts)(lang))  # fmt: skip
        if changes:
            for line in change_lines(v, lang):
                click.echo(f"  {line}")


@agencies.command()
@click.argument("system", type=click.Choice(["admin-unit", "axis"]))
@click.argument("code")
@click.option("--on", "on_text", metavar="DATE", help="The day (YYYY-MM-DD) [default: today, Vietnam time].")
@directory_option
@json_option
def alias(system: str, code: str, on_text: str | None, directory_file: Path | None, as_json: bool) -> None:
    """Which agency CODE of another code system names on a day (an administrative-unit code of
    QĐ 19/2025/QĐ-TTg, or a code of the national axis); never derived, always a row of data."""
    from datetime import date

    from vbcore.timezones import vietnam_now

    lang = current_lang()
    try:
        on = date.fromisoformat(on_text) if on_text else vietnam_now().date()
    except ValueError as err:
        raise click.BadParameter(f"{on_text!r} is not a date (YYYY-MM-DD)", param_hint="--on") from err
    directory = load_directory(directory_file)
    row = directory.alias(system, code, on)
    if as_json:
        echo_json({"system": system, "code": code, "on": on.isoformat(),
                   "alias": row.to_dict() if row else None,
                   "history": [r.to_dict() for r in directory.aliases.history(system, code)]})  # fmt: skip
        if row is None:
            raise SystemExit(1)
        return
    if row is None:
        ended = [r for r in directory.aliases.history(system, code) if r.valid_to and r.valid_to < on]
        if ended:
            last = ended[-1]
            label = agency_label(directory, last.agency, lang=lang)
            raise fail(_SYNC["alias_ended"].format(system=system, code=code, on=on, agency=label,
                                                   until=last.valid_to))  # fmt: skip
        raise fail(_SYNC["no_alias"].format(system=system, code=code, on=on))
    label = agency_label(directory, row.agency, lang=lang)
    click.echo(_SYNC["alias"].format(system=system, code=code, on=on, agency=label, source=row.source)(lang))
