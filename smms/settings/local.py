"""The embedded default: runs with nothing but Python.

SQLite in ``var/``, a Celery broker in ``var/broker`` (kombu's filesystem transport, no server), a file
cache shared by the web process and the worker, and secrets generated once into ``var/local-secrets.json``.
Any of these can be replaced by setting DATABASE_URL, CELERY_BROKER_URL or CACHE_URL.
"""

from __future__ import annotations

import json
import os
import secrets

from cryptography.fernet import Fernet

from .base import *
from .base import STATIC_ROOT, VAR_DIR, env_str

DEBUG = env_bool("DEBUG", True)
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _local_secrets() -> dict[str, str]:
    path = VAR_DIR / "local-secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    values = {"secret_key": secrets.token_urlsafe(50), "encryption_key": Fernet.generate_key().decode()}
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values


_secrets = _local_secrets()
SECRET_KEY = env_str("SECRET_KEY", _secrets["secret_key"])
SMMS_ENCRYPTION_KEYS = env_list("SMMS_ENCRYPTION_KEYS", [_secrets["encryption_key"]])

if not os.environ.get("CELERY_BROKER_URL"):
    _broker_dir = VAR_DIR / "broker"
    for sub in ("queue", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Exchange bindings; kombu's default is a relative "control" folder in the current directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    # The filesystem transport has no fan-out exchange for remote control, mingle or gossip.
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False

if not os.environ.get("CACHE_URL") and not os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
# `make run` starts the platform simulator here; SMMS_SIMULATOR_URL=off talks to the real networks instead.
_simulator = env_str("SMMS_SIMULATOR_URL", "http://127.0.0.1:8900")
SMMS_SIMULATOR_URL = "" if _simulator.lower() in {"off", "none", "false"} else _simulator
SMMS_DEMO_DATA_ALLOWED = True
# Webhook receivers on this machine (127.0.0.1) are how one tries webhooks out in development.
SMMS_WEBHOOKS_ALLOW_PRIVATE = env_bool("SMMS_WEBHOOKS_ALLOW_PRIVATE", True)
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
