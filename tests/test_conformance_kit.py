"""The conformance kit can fail: run on a connector with a known defect, the scenarios that cover the
defect fail and the others pass. (Run in a separate pytest process, as a vendor would run it.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent

BROKEN = '''
import sys
sys.path.insert(0, {tests!r})
import pytest
from test_guide import guide

class ForgetfulConnector(guide.MemoryConnector):
    """Registers a document again each time it is delivered: not idempotent by DocumentId."""
    name = "forgetful"

    def deliver(self, doc):
        self.dms.log = getattr(self.dms, "log", [])
        self.dms.log.append(doc.document_id)
        return super().deliver(doc)

class Driver(guide.MemoryDmsDriver):
    def delivered(self):
        return list(getattr(self.dms, "log", []))

class TestForgetful(guide.TestMemoryConnector):
    @pytest.fixture
    def dms(self, tmp_path):
        return Driver(guide.DMS_BY_NAME.setdefault(str(tmp_path), guide.MemoryDms()))

    @pytest.fixture
    def connector_factory(self, tmp_path, dms):
        return lambda context: ForgetfulConnector.from_config({{"dms": str(tmp_path)}}, context)
'''


def test_a_connector_that_registers_twice_fails_exactly_the_scenarios_about_it(tmp_path: Path) -> None:
    (tmp_path / "test_forgetful.py").write_text(BROKEN.format(tests=str(TESTS)), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "vbcore.testing.conformance",
         "-k",
         "idempotent or crash_after_deliver or arriving_document", "test_forgetful.py"],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=240, check=False,
    )
    out = result.stdout
    failed = "FAILED test_forgetful.py::TestForgetful::"
    assert f"{failed}test_deliver_is_idempotent_by_document_id" in out, out
    assert f"{failed}test_a_crash_after_deliver_delivers_once_and_sends_01_once" in out, out
    assert "2 failed, 1 passed" in out, out
