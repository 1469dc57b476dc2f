"""Production settings: secure by default, and they refuse to start in an unsafe configuration."""

from __future__ import annotations

import subprocess
import sys

from cryptography.fernet import Fernet

from tests.subprocesses import ROOT, project_env

GOOD = {
    "DJANGO_SETTINGS_MODULE": "smms.settings.production",
    "SECRET_KEY": "p" * 20 + "-random-production-secret-key-" + "q" * 20,
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "SMMS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "smms.example.com",
}


def _check(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", *args],
        cwd=ROOT,
        env=project_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_gives_no_warning_with_production_settings():
    result = _check(GOOD, "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_refuses_debug():
    result = _check({**GOOD, "DEBUG": "true"})
    assert result.returncode != 0
    assert "DEBUG is on with production settings" in result.stderr


def test_production_refuses_a_missing_secret_key():
    env = {k: v for k, v in GOOD.items() if k != "SECRET_KEY"}
    result = _check(env)
    assert result.returncode != 0
    assert "SECRET_KEY is missing or weak" in result.stderr


def test_a_malformed_setting_names_the_variable():
    result = _check({**GOOD, "DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr
