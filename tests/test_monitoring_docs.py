"""docs/monitoring is true: the alert rules parse and fire when they should (promtool, from Debian's
prometheus package), every query of the rules and of the Grafana dashboard names metrics the hub and
the connectors export, and the README lists each of them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from vbcore.connector.metrics import ConnectorMetrics
from vbcore.hub.metrics import HubMetrics

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "monitoring"
RULES, RULE_TESTS = DOCS / "alerts.yml", DOCS / "alerts.test.yml"
DASHBOARD, README = DOCS / "grafana-dashboard.json", DOCS / "README.md"
METRIC = re.compile(r"\bvbus_[a-z_]+\b")
PROMTOOL_ENV = "VBUS_PROMTOOL"  # .ci/run points it at the promtool it unpacked from Debian's package


def exported() -> set[str]:
    return HubMetrics().registry.names() | ConnectorMetrics().registry.names()


def rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in data["groups"] for rule in group["rules"]]


def dashboard_queries() -> list[str]:
    data = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [t["expr"] for p in data["panels"] for t in p.get("targets", [])]


def promtool() -> str:
    found = os.environ.get(PROMTOOL_ENV) or shutil.which("promtool")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail(f"promtool is missing (Debian package prometheus; or set {PROMTOOL_ENV})")
    pytest.skip(f"promtool is not installed (Debian package prometheus, or {PROMTOOL_ENV}): the YAML "
                "structure tests still run")  # fmt: skip


def test_the_alert_rules_have_the_shape_prometheus_reads_and_speak_one_language_per_line() -> None:
    data = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    assert [g["name"] for g in data["groups"]] == ["vbus-hub", "vbus-connectors"]
    names = set()
    for rule in rules():
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert rule["alert"].startswith("Vbus")
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert set(rule["annotations"]) == {"summary", "summary_en"}
        assert any(not c.isascii() for c in rule["annotations"]["summary"])  # Vietnamese
        assert rule["annotations"]["summary_en"].isascii()  # English
        names.add(rule["alert"])
    # What the issue asks for: overdue 01 past the working day, parked messages growing, hub not consuming.
    assert {"VbusOverdueArrivals", "VbusParkedMessagesGrowing", "VbusHubNotConsuming"} <= names


def test_every_query_names_metrics_that_exist() -> None:
    known = exported()
    queries = [rule["expr"] for rule in rules()] + dashboard_queries()
    assert len(queries) > 20
    for query in queries:
        used = set(METRIC.findall(query))
        assert used, query
        assert used <= known, f"{query}: {used - known} are not exported"


def test_the_dashboard_is_a_grafana_dashboard_with_a_prometheus_input() -> None:
    data = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert data["__inputs"][0]["pluginId"] == "prometheus"
    assert data["timezone"] == "Asia/Ho_Chi_Minh"
    panels = [p for p in data["panels"] if p["type"] != "row"]
    assert all(p["datasource"]["uid"] == "${DS_PROMETHEUS}" for p in panels)
    assert len({p["title"] for p in panels}) == len(panels)
    used = {m for q in dashboard_queries() for m in METRIC.findall(q)}
    for required in ("vbus_hub_overdue_pairs", "vbus_hub_parked_messages", "vbus_hub_pipeline_seconds_bucket",
                     "vbus_hub_refused_total", "vbus_connector_inbox_messages"):  # fmt: skip
        assert required in used


def test_the_readme_lists_every_exported_metric() -> None:
    text = README.read_text(encoding="utf-8")
    families = {re.sub(r"_(bucket|sum|count)$", "", name) for name in exported()}
    missing = sorted(name for name in families if f"`{name}`" not in text)
    assert missing == []


def test_promtool_checks_the_rules(tmp_path: Path) -> None:
    result = subprocess.run([promtool(), "check", "rules", str(RULES)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout


def test_the_alerts_fire_when_they_should_by_promtools_unit_tests() -> None:
    result = subprocess.run([promtool(), "test", "rules", str(RULE_TESTS)], capture_output=True, text=True,
                            cwd=DOCS)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_parses_every_query_of_the_dashboard(tmp_path: Path) -> None:
    queries = enumerate(dashboard_queries())
    recording = [{"record": f"vbus:dashboard_query_{i}", "expr": q} for i, q in queries]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": recording}]}), encoding="utf-8")
    result = subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("drop_in", ["ready.conf", "watchdog.conf"])
def test_the_systemd_drop_ins_make_a_valid_hub_unit(tmp_path: Path, drop_in: str) -> None:
    """A drop-in is the unit's own sections again: the unit with the drop-in appended is what systemd
    runs (with ``/opt/vbus/bin/vb`` pointing at this test's ``vb``: verify checks the program exists)."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    units = ROOT / "deploy" / "systemd"
    vb = str(Path(sys.executable).parent / "vb")
    text = (units / "vbus-hub@.service").read_text() + "\n" + (units / drop_in).read_text()
    (tmp_path / "vbus-hub@.service").write_text(text.replace("/opt/vbus/bin/vb", vb))
    result = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "vbus-hub@1.service")],
                            capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
    if drop_in == "ready.conf":  # the health check's curl takes every option it is given
        help_all = subprocess.run(["curl", "--help", "all"], capture_output=True, text=True).stdout
        lines = (units / drop_in).read_text().splitlines()
        line = next(li for li in lines if li.startswith("ExecStartPost="))
        for word in line.split():
            if word.startswith("--"):
                assert word in help_all, word
        assert "http://127.0.0.1:940%i/healthz" in line  # the port the hub unit gives instance %i
