"""EventGuard settings: one module, driven by the environment.

Embedded mode (no ``DATABASE_URL``) keeps everything under ``EVENTGUARD_HOME``
(default ``./eventguard-data``): the SQLite database, uploaded files and a
generated secret key. Production mode (``DATABASE_URL`` set) refuses to start
without an explicit ``EVENTGUARD_SECRET_KEY``.
"""

import os
import secrets
import sys
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent
HOME = Path(os.environ.get("EVENTGUARD_HOME", "eventguard-data")).resolve()

DATABASE_URL = os.environ.get("DATABASE_URL", "").strip()
EMBEDDED = not DATABASE_URL


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    key = os.environ.get("EVENTGUARD_SECRET_KEY", "").strip()
    if key:
        return key
    if not EMBEDDED:
        raise ImproperlyConfigured(
            "EVENTGUARD_SECRET_KEY must be set when DATABASE_URL is set (production mode)."
        )
    HOME.mkdir(parents=True, exist_ok=True)
    key_file = HOME / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_bool("EVENTGUARD_DEBUG", False)
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("EVENTGUARD_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("EVENTGUARD_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]


def _base_url() -> str:
    """The platform's public address, put before the links that leave it (e-mails, webhook
    bodies). Unset: the one trusted origin, when exactly one is configured; else empty, and
    those links stay paths (`eventguard check` warns)."""
    value = os.environ.get("EVENTGUARD_BASE_URL", "").strip().rstrip("/")
    if not value:
        origins = [o for o in CSRF_TRUSTED_ORIGINS if "*" not in o]
        return origins[0].rstrip("/") if len(CSRF_TRUSTED_ORIGINS) == len(origins) == 1 else ""
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query:
        raise ImproperlyConfigured(
            "EVENTGUARD_BASE_URL must be the public address with its scheme, like "
            f"https://guard.example.gov.cn; given: {value!r}."
        )
    return value


EVENTGUARD_BASE_URL = _base_url()

# `eventguard serve` says so to its processes: the web server's own settings (the database
# pool, admission control) apply in them only, not in workers, commands or tests.
SERVING = os.environ.get("EVENTGUARD_SERVING") == "1" or sys.argv[1:2] == ["serve"]
# Each server process works on at most this many requests at once, the others waiting their
# turn; a request still running after EVENTGUARD_SERVE_HOLD seconds gives its place up (an
# export, a stream). 0: no limit. core/admission.py; docs/deployment.md says how to size it.
SERVE_CONCURRENCY = int(os.environ.get("EVENTGUARD_SERVE_CONCURRENCY", "2"))
SERVE_HOLD_SECONDS = float(os.environ.get("EVENTGUARD_SERVE_HOLD", "0.5"))

if EMBEDDED:
    HOME.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(HOME / "eventguard.sqlite3"),
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            "TEST": {"NAME": os.environ.get("EVENTGUARD_TEST_SQLITE") or None},
        }
    }
else:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            {"timeout": 30, "transaction_mode": "IMMEDIATE"}
        )
    # The web server serves each request in a thread of its own (ASGI): a connection kept
    # per thread would be opened anew for every request and left open after it, until the
    # database refuses more clients. Its processes share a pool instead, of at most
    # EVENTGUARD_DB_POOL connections each (0: one connection per request, closed after it).
    # Workers and commands keep theirs.
    if SERVING and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        pool_size = int(os.environ.get("EVENTGUARD_DB_POOL", "20"))
        if pool_size > 0:
            DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
                "min_size": 2,
                "max_size": pool_size,
                "timeout": 30,
            }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
    "eventguard.core",
    "eventguard.equipment",
    "eventguard.hazards",
    "eventguard.coldchain",
    "eventguard.telemetry",
    "eventguard.alerts",
    "eventguard.command",
    "eventguard.reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "eventguard.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "eventguard.core.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "eventguard.urls"
ASGI_APPLICATION = "eventguard.asgi.application"
WSGI_APPLICATION = "eventguard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "eventguard.core.context_processors.navigation",
            ],
        },
    },
    # The rows of the busiest list pages (<app>/jinja2/), rendered by the {% rows %} tag of
    # a Django page: see eventguard/core/jinja.py.
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "APP_DIRS": True,
        "OPTIONS": {"environment": "eventguard.core.jinja.environment"},
    },
]

AUTH_USER_MODEL = "core.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login rate limit: failed attempts per username or per client address in a window.
LOGIN_MAX_FAILURES = int(os.environ.get("EVENTGUARD_LOGIN_MAX_FAILURES", "5"))
LOGIN_FAILURE_WINDOW_SECONDS = int(os.environ.get("EVENTGUARD_LOGIN_FAILURE_WINDOW", "900"))

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = _env_bool("EVENTGUARD_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LANGUAGE_CODE = os.environ.get("EVENTGUARD_LANGUAGE", "zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = os.environ.get("EVENTGUARD_TIME_ZONE", "Asia/Shanghai")
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("EVENTGUARD_STATIC_ROOT", HOME / "static"))
# `eventguard collectstatic` fills it for production; until then the app serves the
# files straight from the packages (WhiteNoise with finders), and the folder must exist.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("EVENTGUARD_MEDIA_ROOT", HOME / "media"))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
# Hidden-danger photos: the largest accepted file (JPEG, PNG or WebP, checked by content).
EVENTGUARD_PHOTO_MAX_BYTES = int(os.environ.get("EVENTGUARD_PHOTO_MAX_BYTES", 10 * 1024 * 1024))

EMAIL_BACKEND = os.environ.get(
    "EVENTGUARD_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("EVENTGUARD_EMAIL_FROM", "eventguard@localhost")
# An SMTP relay that does not answer gives up well within a delivery's lease (60 s), so that
# no other worker sends the same e-mail meanwhile; the attempt is then retried with backoff.
EMAIL_TIMEOUT = 10

NINJA_PAGINATION_PER_PAGE = 50

# Telemetry: the broker `eventguard worker` subscribes to (mqtt://user:password@host:port,
# mqtts:// for TLS), the topic root and shared-subscription group, and the contract's limits.
MQTT_URL = os.environ.get("MQTT_URL", "mqtt://127.0.0.1:1883")
MQTT_TOPIC_ROOT = os.environ.get("EVENTGUARD_MQTT_TOPIC_ROOT", "eventguard")
MQTT_SHARE_GROUP = os.environ.get("EVENTGUARD_MQTT_SHARE_GROUP", "eventguard")
TELEMETRY_MAX_PAYLOAD_BYTES = int(os.environ.get("EVENTGUARD_TELEMETRY_MAX_PAYLOAD_BYTES", "8192"))
TELEMETRY_MAX_CLOCK_SKEW_SECONDS = int(os.environ.get("EVENTGUARD_TELEMETRY_MAX_SKEW", "300"))
TELEMETRY_DEVICE_OFFLINE_SECONDS = int(os.environ.get("EVENTGUARD_DEVICE_OFFLINE_SECONDS", "600"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("EVENTGUARD_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
