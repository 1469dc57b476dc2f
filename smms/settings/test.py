"""Settings for the test suite: real PostgreSQL and Redis, as configured by DATABASE_URL and REDIS_URL."""

from __future__ import annotations

import hashlib
import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smms")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")

from .base import *
from .base import env_bool, env_list, env_str

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production-" + "x" * 20
# Two keys so every test also exercises decryption with a non-primary key list.
SMMS_ENCRYPTION_KEYS = env_list(
    "SMMS_ENCRYPTION_KEYS",
    ["3q2-7k0gNf9HjQm3v1u0yY2qD1cS3rE8P6kW5zT4bAc=", "Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg="],
)
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; never in production
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "test-mail"))  # for worker subprocesses
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", env_str("REDIS_URL"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
SMMS_DEMO_DATA_ALLOWED = True
# Tests run their webhook receivers on 127.0.0.1; the guard itself is tested with the setting off.
SMMS_WEBHOOKS_ALLOW_PRIVATE = env_bool("SMMS_WEBHOOKS_ALLOW_PRIVATE", True)
# One test database per checkout: two clones testing on the same server never drop each other's.
DATABASES["default"]["TEST"] = {
    "NAME": f"test_{DATABASES['default']['NAME']}_{hashlib.sha256(str(BASE_DIR).encode()).hexdigest()[:8]}"
}
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
