"""smms/connectors/ stands alone: no Django, no SMMS app, so it can be tested and reused on its own."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from smms.connectors import CONNECTORS

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("django", "rest_framework", "celery", "accounts", "publishing", "moderation", "listening",
             "analytics", "crm_bridge", "simulator")  # fmt: skip


def test_no_connector_module_imports_django_or_an_app():
    for path in sorted((ROOT / "smms" / "connectors").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"
                assert not name.startswith("smms.") or name.startswith("smms.connectors"), f"{path.name}: {name}"


def test_importing_every_connector_loads_no_django():
    modules = sorted({target.split(":")[0] for target in CONNECTORS.values()})
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'celery', 'rest_framework'))\n"
        + "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
