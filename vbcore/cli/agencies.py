"""``vb agencies``: list, show, search and check the agency directory (shipped, or with an operator's)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vbcore.cli import vb
from vbcore.cli.output import (
    agency_label,
    directory_option,
    echo_json,
    fail,
    json_option,
    load_directory,
    table,
)
from vbcore.directory import KINDS, Agency, Directory
from vbcore.errors import InvalidAgencyCode
from vbcore.identifiers import is_test_tenant, parse_code


@vb.group()
def agencies() -> None:
    """The agency directory: who a code names, and where closed codes went (QĐ 09/2025/QĐ-TTg)."""


def _state(directory: Directory, a: Agency) -> str:
    if not a.closed:
        return "open"
    chain = directory.successor_chain(a.code)
    return f"closed → {chain[-1].code}" if chain else "closed"


def _rows(directory: Directory, found: list[Agency]) -> list[list[str]]:
    return [[a.code, a.kind, _state(directory, a), a.name] for a in found]


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
        click.echo(table(["code", "kind", "state", "name"], _rows(directory, found)))


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
                raise fail(str(e)) from e
        raise fail(f"{code} is not in the directory ({directory.source})")
    children = directory.children(code)
    predecessors = directory.predecessors(code)
    if as_json:
        d = _entry(directory, agency)
        d["children"] = [c.code for c in children]
        d["predecessors"] = [p.code for p in predecessors]
        echo_json(d)
        return
    lines = [f"{agency.code}  {agency.name}"]
    if agency.short_name:
        lines.append(f"  short name:   {agency.short_name}")
    lines.append(f"  kind:         {agency.kind}")
    if agency.parent:
        lines.append(f"  parent:       {agency_label(directory, agency.parent)}")
    if agency.closed:
        by = f" by {agency.closed_by}" if agency.closed_by else ""
        lines.append(f"  state:        closed{by}")
        for step in directory.successor_chain(code):
            lines.append(f"  successor:    {step.code} {step.name}{' (closed too)' if step.closed else ''}")
        if not directory.successor_chain(code):
            lines.append(f"  successor:    {agency.successor or 'none'}")
    else:
        lines.append("  state:        open")
    for name in agency.former_names:
        lines.append(f"  former name:  {name}")
    for p in predecessors:
        lines.append(f"  took over:    {p.code} {p.name}")
    for c in children:
        lines.append(f"  unit:         {c.code} {c.name}")
    if agency.note:
        lines.append(f"  note:         {agency.note}")
    lines.append(f"  certificate:  {'registered' if agency.certificate_pem else 'none registered'}")
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
            click.echo(f"no agency matches {text!r}", err=True)
        raise SystemExit(1)


@agencies.command()
@directory_option
def check(directory_file: Path | None) -> None:
    """Check the directory: successors and level-1 bodies present, no successor loops."""
    directory = load_directory(directory_file)
    problems = directory.problems()
    for p in problems:
        click.echo(p)
    if problems:
        raise SystemExit(1)
    click.echo(f"{len(directory)} agencies, no problems ({directory.source})")
