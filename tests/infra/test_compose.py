"""No Docker engine here, so the compose file is checked against the project by reading it."""

from __future__ import annotations

import re

import yaml
from django.conf import settings

from tests.subprocesses import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
ENV_EXAMPLE = (ROOT / ".env.example").read_text()


def _command(service: str) -> str:
    command = COMPOSE["services"][service]["command"]
    return " ".join(command) if isinstance(command, list) else command


def test_compose_runs_the_production_services():
    assert set(COMPOSE["services"]) == {"postgres", "redis", "web", "worker", "beat"}


def test_the_web_service_runs_gunicorn_on_the_projects_wsgi_after_migrating():
    command = _command("web")
    assert "gunicorn smms.wsgi:application" in command
    assert command.index("migrate") < command.index("gunicorn")


def test_the_worker_consumes_every_declared_queue_and_beat_runs():
    match = re.search(r"-Q (\S+)", _command("worker"))
    assert match
    assert set(match.group(1).split(",")) == {q.name for q in settings.CELERY_TASK_QUEUES}
    assert _command("beat").startswith("celery -A smms beat")


def test_app_services_use_production_settings_and_wait_for_healthy_backends():
    for name in ("web", "worker", "beat"):
        service = COMPOSE["services"][name]
        assert service["environment"]["DJANGO_SETTINGS_MODULE"] == "smms.settings.production"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_every_variable_is_documented_in_env_example():
    documented = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", ENV_EXAMPLE, re.M))
    in_compose = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", (ROOT / "docker-compose.yml").read_text()))
    read_by_code = set()
    for path in [*ROOT.glob("smms/**/*.py"), *ROOT.glob("scripts/*.py")]:
        read_by_code |= set(re.findall(r"env_(?:str|bool|int|list)\(\s*\"([A-Z_0-9]+)\"", path.read_text()))
        read_by_code |= set(re.findall(r"os\.environ(?:\.get)?\(\s*\"([A-Z_0-9]+)\"", path.read_text()))
    read_by_code -= {"PYTHONUNBUFFERED"}
    assert in_compose - documented == set()
    assert read_by_code - documented == set()
