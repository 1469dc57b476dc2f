"""Settings shared by every environment. Environment-specific modules import * from here and adjust.

Every value that differs between machines is read from the environment through ``smms.lib.env``; each
variable is documented in ``.env.example``.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _
from kombu import Queue

from smms.lib.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# Local state of the embedded default (SQLite file, broker folders, caches); git-ignored.
VAR_DIR = Path(env_str("SMMS_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "accounts",
    "publishing",
    "moderation",
    "listening",
    "analytics",
    "crm_bridge",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserPreferencesMiddleware",
    "accounts.middleware.CurrentOrganizationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "smms.urls"
WSGI_APPLICATION = "smms.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.organization",
                "accounts.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'smms.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Files SMMS writes (CSV exports), on the default storage. Never served as they are: downloads go through views
# that check the organization. The web app and the workers must share it (a volume in docker compose).
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "SMMS <no-reply@smms.localhost>")
# Absolute base URL for links in e-mails sent by workers (no request to build it from there).
SMMS_BASE_URL = env_str("SMMS_BASE_URL", "http://localhost:8000")

# Fernet keys, newest first; see smms/lib/crypto.py.
SMMS_ENCRYPTION_KEYS = env_list("SMMS_ENCRYPTION_KEYS", [])

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

# --- Social platforms ---------------------------------------------------------------------------------
# With SMMS_SIMULATOR_URL set, every connector talks to the bundled platform simulator at that address;
# without it, to the real APIs with the app credentials below (register SMMS with each network).
SMMS_SIMULATOR_URL = env_str("SMMS_SIMULATOR_URL", "")
SMMS_PLATFORM_CREDENTIALS = {
    platform: (env_str(f"SMMS_{platform.upper()}_CLIENT_ID", ""), env_str(f"SMMS_{platform.upper()}_CLIENT_SECRET", ""))
    for platform in ("x", "facebook", "instagram", "mastodon")
}
# Default Mastodon instance offered in the connect form (each account may live on another).
SMMS_MASTODON_DEFAULT_INSTANCE = env_str("SMMS_MASTODON_DEFAULT_INSTANCE", "https://mastodon.social")
SMMS_CONNECTOR_TIMEOUT = env_int("SMMS_CONNECTOR_TIMEOUT", 20)
# Refresh access tokens this many seconds before they expire.
SMMS_TOKEN_REFRESH_MARGIN = env_int("SMMS_TOKEN_REFRESH_MARGIN", 900)

# Seconds between two refreshes of what dashboards show live (the fire banner on every page).
SMMS_LIVE_POLL_SECONDS = env_int("SMMS_LIVE_POLL_SECONDS", 10)

# --- Moderation (the inbox) ---------------------------------------------------------------------------
# Seconds a process keeps an organization's routing rules (queues, VIPs) before reading them again.
SMMS_ROUTING_CACHE_SECONDS = env_int("SMMS_ROUTING_CACHE_SECONDS", 5)
# Someone whose open conversation page has not checked in for this many seconds is no longer "viewing".
SMMS_PRESENCE_SECONDS = env_int("SMMS_PRESENCE_SECONDS", 20)
# Attempts of one reply, like, hide or delete on transient errors before it fails; backoff base in seconds.
SMMS_INBOX_MAX_ATTEMPTS = env_int("SMMS_INBOX_MAX_ATTEMPTS", 6)
SMMS_INBOX_RETRY_BASE = env_int("SMMS_INBOX_RETRY_BASE", 10)
# Seconds a worker's claim on a reply lasts before the recovery sweep takes it over (above CELERY_TASK_TIME_LIMIT).
SMMS_INBOX_CLAIM_SECONDS = env_int("SMMS_INBOX_CLAIM_SECONDS", 360)

# --- Analytics -----------------------------------------------------------------------------------------
# Minutes after publication of a post's first metrics fetch (the schedule's 10; the demo runner sets 1).
SMMS_METRICS_FIRST_FETCH_MINUTES = env_int("SMMS_METRICS_FIRST_FETCH_MINUTES", 10)

# --- Listening -----------------------------------------------------------------------------------------
# A new topic, or a topic whose query changed, is matched against the mentions stored over this many days.
SMMS_TOPIC_REMATCH_DAYS = env_int("SMMS_TOPIC_REMATCH_DAYS", 30)
# Languages the detector chooses among (fewer is faster and more accurate); sentiment is scored in en and fr.
SMMS_LISTENING_LANGUAGES = env_list("SMMS_LISTENING_LANGUAGES", ["en", "fr", "es", "de", "it", "pt", "nl"])
# Seconds between two polls of one account's mentions.
SMMS_POLL_INTERVAL = env_int("SMMS_POLL_INTERVAL", 60)
# How long a poll's claim on its stream lasts: a worker killed mid-poll blocks the stream this long at most.
SMMS_POLL_CLAIM_SECONDS = env_int("SMMS_POLL_CLAIM_SECONDS", 300)
# A stream handed to a worker is not handed out again for this long unless its poll finishes first.
SMMS_POLL_DISPATCH_LEASE = env_int("SMMS_POLL_DISPATCH_LEASE", 30)

# --- Publishing ----------------------------------------------------------------------------------------
# A delivery that could not start within this many seconds of its due time fails instead of posting late.
SMMS_PUBLISH_LATENESS_CUTOFF = env_int("SMMS_PUBLISH_LATENESS_CUTOFF", 3600)
# Attempts of one delivery (transient errors: 5xx, timeouts, rate limits) before it fails.
SMMS_PUBLISH_MAX_ATTEMPTS = env_int("SMMS_PUBLISH_MAX_ATTEMPTS", 5)
# Seconds of backoff after the first failed attempt, doubled after each further one (with jitter, at most 30 min).
SMMS_PUBLISH_RETRY_BASE = env_int("SMMS_PUBLISH_RETRY_BASE", 30)
# How long a worker's claim on a delivery lasts. Longer than CELERY_TASK_TIME_LIMIT, so the claim of a live
# worker never expires under it; past it, the recovery sweep asks the network whether the post was made.
SMMS_PUBLISH_CLAIM_SECONDS = env_int("SMMS_PUBLISH_CLAIM_SECONDS", 600)
# Largest image the composer accepts, in bytes (each network has its own, smaller caps, checked per post).
SMMS_MEDIA_MAX_BYTES = env_int("SMMS_MEDIA_MAX_BYTES", 16 * 1024 * 1024)
# Public address the networks that fetch images themselves (Facebook, Instagram) reach SMMS at; each image is
# served there at a signed URL valid SMMS_MEDIA_URL_MAX_AGE seconds. Defaults to SMMS_BASE_URL.
SMMS_PUBLIC_BASE_URL = env_str("SMMS_PUBLIC_BASE_URL", "") or SMMS_BASE_URL
SMMS_MEDIA_URL_MAX_AGE = env_int("SMMS_MEDIA_URL_MAX_AGE", 24 * 3600)
# Uploads: files over 2.5 MB go to a temporary file rather than memory; a request carries at most 10 files.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FILES = 10

# --- Webhooks ------------------------------------------------------------------------------------------
# Organizations register the URLs SMMS posts events to. Off, a URL whose host resolves to a private, loopback
# or link-local address is refused, at registration and again when connecting: a webhook must not become a
# way to reach the servers next to SMMS. Development and tests turn it on to use receivers on 127.0.0.1.
SMMS_WEBHOOKS_ALLOW_PRIVATE = env_bool("SMMS_WEBHOOKS_ALLOW_PRIVATE", False)

# --- Celery -------------------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged after it ran, so a killed worker's task is redelivered: tasks must be idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_TASK_DEFAULT_QUEUE = "default"
# Each queue has its own routing key: without one, kombu binds every queue to the default key and a message
# would be copied into all of them.
CELERY_TASK_QUEUES = (
    # Everything small and not latency-critical: e-mails, housekeeping, heartbeats.
    Queue("default", routing_key="default"),
    # I/O-bound polling of the platforms' APIs (mentions, comments, messages, metrics).
    Queue("polling", routing_key="polling"),
    # Latency-sensitive delivery of scheduled posts and replies; kept apart so polling never delays it.
    Queue("publishing", routing_key="publishing"),
    # CPU-bound language identification and sentiment scoring.
    Queue("sentiment", routing_key="sentiment"),
)
CELERY_TASK_DEFAULT_ROUTING_KEY = "default"
CELERY_TASK_ROUTES = {
    "listening.tasks.*": {"queue": "polling"},
    # CSV imports are long and not latency-critical (listed first: the first matching pattern wins).
    "publishing.tasks.post_import*": {"queue": "default"},
    "publishing.tasks.*": {"queue": "publishing"},
    # Replies, likes, hides and deletes are sent like scheduled posts; assignment and SLA sweeps are housekeeping.
    "moderation.tasks.network_action*": {"queue": "publishing"},
    "analytics.tasks.score_*": {"queue": "sentiment"},
    "analytics.tasks.metrics_*": {"queue": "polling"},
}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Heartbeat older than this means no worker is consuming; /health then reports the worker as down.
SMMS_WORKER_HEARTBEAT_MAX_AGE = env_int("SMMS_WORKER_HEARTBEAT_MAX_AGE", 120)

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env_str("CACHE_URL", REDIS_URL),
    }
}

# --- REST API -----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "smms.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "smms.api.pagination.IdCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "smms.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SMMS API",
    "DESCRIPTION": (
        "REST API of the SMMS social media management system. Authenticate with an organization API key "
        "(`Authorization: Api-Key <key>`); each key carries scopes such as `accounts:read`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # One name for a choice set that several fields share (a delivery's state, an event's from and to states).
    "ENUM_NAME_OVERRIDES": {
        "DeliveryStateEnum": "publishing.models.DeliveryState",
        "ConversationKindEnum": "moderation.models.ConversationKind",
        "KindEnum": "listening.models.TopicKind",  # the name it had before conversations had a kind too
        "ConversationStatusEnum": "moderation.models.ConversationStatus",
        "PlatformEnum": "accounts.models.Platform",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
