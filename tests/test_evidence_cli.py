"""``vb evidence verify`` on another machine: a subprocess in an empty folder, with a scrubbed
environment (no VBUS_* variables, HOME a new folder), given only the bundle and the CA certificate;
and, marked slow, in a fresh venv where only this repository was installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bundle_world import build, bundle_bytes, edited
from tests.conftest import in_ci
from vbcore.evidence.bundle import PACKAGE
from vbcore.testing.devworld import six_agency_keys

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def machine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """An empty folder holding nothing but a bundle, a tampered copy and the CA certificate."""
    dev = six_agency_keys(tmp_path_factory.mktemp("pki"))
    data = bundle_bytes(dev, build(dev).contents)
    there = tmp_path_factory.mktemp("another-machine")
    (there / "bundle.zip").write_bytes(data)

    def flip(members: dict[str, bytes]) -> None:
        members[PACKAGE] = members[PACKAGE].replace(b"V/v", b"V/V", 1)

    (there / "edited.zip").write_bytes(edited(data, flip))
    shutil.copy(dev.pki.ca_cert_path, there / "ca.pem")
    return there, there / "bundle.zip", there / "ca.pem"


def _scrubbed(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VBUS_") and k not in ("PYTHONPATH",)}
    env["HOME"] = str(home)
    return env


def _vb(python: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    home = cwd / "home"
    home.mkdir(exist_ok=True)
    return subprocess.run(
        [str(python), "-c", "import sys; from vbcore.cli import vb; vb(prog_name='vb')", *args],
        cwd=cwd, env=_scrubbed(home), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_verify_in_an_empty_folder_with_only_the_bundle_and_the_ca(machine: tuple[Path, Path, Path]) -> None:
    there, _, _ = machine
    run = _vb(Path(sys.executable), there, "evidence", "verify", "bundle.zip", "--trust", "ca.pem")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Hành trình (giờ UTC | giờ Việt Nam):" in run.stdout
    assert "Đã chuyển vào hộp thư của 000.00.00.H24" in run.stdout
    assert "Kết quả: gói bằng chứng nhất quán" in run.stdout
    english = _vb(Path(sys.executable), there, "--lang", "en", "evidence", "verify", "bundle.zip", "--trust",
                  "ca.pem")  # fmt: skip
    assert english.returncode == 0, english.stderr
    assert "Delivered to the inbox of 000.00.00.H24" in english.stdout
    assert sorted(p.name for p in there.iterdir()) == ["bundle.zip", "ca.pem", "edited.zip", "home"]


def test_an_edited_bundle_exits_non_zero_with_the_reason(machine: tuple[Path, Path, Path]) -> None:
    there, _, _ = machine
    run = _vb(
        Path(sys.executable), there, "--lang", "en", "evidence", "verify", "edited.zip", "--trust", "ca.pem"
    )
    assert run.returncode == 1
    assert "Result: INVALID" in run.stdout
    assert "package.xml: its SHA-256 is not the manifest's: it was changed after export" in run.stdout
    assert "the evidence bundle is NOT valid" in run.stderr


def _copy_sources(root: Path, to: Path) -> None:
    """The repository's own files: those git tracks, else the tree without what a run leaves in it (a
    venv, caches, the tools ``.ci/run`` unpacks, whose links point outside)."""
    listed = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True, check=False)
    if listed.returncode == 0 and listed.stdout:
        for name in listed.stdout.decode().split("\0"):
            if name and (root / name).is_file():
                (to / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(root / name, to / name)
        return
    leave_out = (".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis",
                 "var", "tools")  # fmt: skip
    shutil.copytree(root, to, ignore=shutil.ignore_patterns(*leave_out))


@pytest.mark.slow
def test_verify_in_a_fresh_venv(machine: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """``python -m venv`` + ``pip install`` of this repository, nothing else; then verify."""
    source = tmp_path / "vbus"  # a copy: pip builds in the source tree, which must stay clean
    _copy_sources(ROOT, source)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(source)],
        capture_output=True, text=True, timeout=1200, check=False, env=_scrubbed(tmp_path),
    )  # fmt: skip
    if install.returncode != 0:
        reason = (install.stderr.strip().splitlines() or ["pip failed"])[-1]
        if in_ci():
            pytest.fail(f"pip install of the repository failed in a fresh venv: {reason}")
        pytest.skip(f"the package registry is not reachable from this machine (pip: {reason}); CI runs it")
    there, _, _ = machine
    run = _vb(python, there, "evidence", "verify", "bundle.zip", "--trust", "ca.pem")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Kết quả: gói bằng chứng nhất quán" in run.stdout


def test_verify_names_the_hub_and_fails_against_another_pinned_hub(machine: tuple[Path, Path, Path]) -> None:
    there, _, _ = machine
    args = ("--lang", "en", "evidence", "verify", "bundle.zip", "--trust", "ca.pem")
    named = _vb(Path(sys.executable), there, *args)
    assert "The hub that witnesses it (signed the checkpoints and receipts): vbus.hub" in named.stdout
    assert _vb(Path(sys.executable), there, *args, "--hub", "vbus.hub").returncode == 0
    other = _vb(Path(sys.executable), there, *args, "--hub", "vbus.other-hub")
    assert other.returncode == 1
    assert "is signed by the hub vbus.hub, not by vbus.other-hub" in other.stdout
