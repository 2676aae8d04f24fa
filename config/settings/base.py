"""Settings shared by every environment.

The environment is read here, in one place, through django-environ. Variables are documented in README.md.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A local .env is convenient in development; real deployments set the environment itself.
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"))

# SECTION: core
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# SECTION: apps
DJANGO_APPS = [
    # daphne first so that its runserver serves HTTP and WebSocket in development.
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
]
THIRD_PARTY_APPS = [
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_celery_beat",
]
LOCAL_APPS = [
    "core",
    "accounts",
    "classroom",
    "analytics",
    "gamification",
    "recommendations",
    "reports",
    "messaging",
    "risk",
    "google_classroom",
    "dashboards",
    "live",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

# SECTION: middleware
MIDDLEWARE = [
    # outermost: times the whole request (analytics/request_metrics.py)
    "analytics.request_metrics.RequestMetricsMiddleware",
    # correlation ids, the body limit and JSON error bodies under /api/ (core/api.py)
    "core.api.ApiMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# SECTION: templates
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SECTION: database
# PostgreSQL is the only supported database. Under ASGI, persistent connections (CONN_MAX_AGE > 0) leak one
# connection per worker thread, so connections come from psycopg's pool instead (Django's "pool" option).
DATABASES = {"default": env.db_url("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/edupath")}
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["OPTIONS"]["pool"] = {
    "min_size": env.int("DATABASE_POOL_MIN", default=1),
    "max_size": env.int("DATABASE_POOL_MAX", default=10),
    "timeout": 10,
}
# Django turns psycopg's statement preparation off (for pgbouncer); our pool keeps sessions, so it is back on. Only
# core.db.prepared_cursor prepares: Django's own cursors bind on the client, and those never prepare.
DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 5
DATABASES["default"]["ATOMIC_REQUESTS"] = False

# SECTION: redis
# One Redis server carries three things; each gets its own logical database so they can be flushed or moved apart.
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379")


def redis_url_for(base_url: str, db: int) -> str:
    """Return base_url pointing at logical database `db` (any path in base_url is replaced)."""
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


REDIS_DB_CACHE = env.int("REDIS_DB_CACHE", default=1)
REDIS_DB_BROKER = env.int("REDIS_DB_BROKER", default=2)
REDIS_DB_CHANNELS = env.int("REDIS_DB_CHANNELS", default=3)

# SECTION: cache
CACHES: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": redis_url_for(REDIS_URL, REDIS_DB_CACHE),
        "KEY_PREFIX": "edupath",
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

# SECTION: channels
CHANNEL_LAYERS: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # redis-py's asyncio pool defaults to 100 connections and raises when full; live dashboards hold
            # one consumer per open page, so the pool is sized for a thousand of them.
            "hosts": [{"address": redis_url_for(REDIS_URL, REDIS_DB_CHANNELS), "max_connections": 1200}],
            "prefix": env("CHANNELS_PREFIX", default="edupath"),
            "capacity": 1000,
            "expiry": 30,
        },
    }
}

# SECTION: celery
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=redis_url_for(REDIS_URL, REDIS_DB_BROKER))
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL)
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TIMEZONE = "UTC"
# JSON only: tasks take ids and plain values, never pickled objects.
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Reliability: a task is acknowledged only after it ran, and a task whose worker died goes back to the queue.
# Tasks must therefore be idempotent (see STYLE.md, "Realtime and jobs").
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
# With acks late, Redis redelivers an unacknowledged task after the visibility timeout; it must exceed the
# longest task (hard limit above) or a slow task would run twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="edupath")
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# SECTION: auth
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# SECTION: i18n
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# SECTION: static
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Browser libraries come from npm (frontend/package.json and its committed lockfile; `./dev` runs `npm ci`) and are
# served from here like our own files: no CDN.
FRONTEND_MODULES = BASE_DIR / "frontend" / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/chartjs", FRONTEND_MODULES / "chart.js" / "dist"),
    ("vendor/chartjs-chart-matrix", FRONTEND_MODULES / "chartjs-chart-matrix" / "dist"),
]

# SECTION: api
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Deny by default: every endpoint that should be public says so explicitly.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.LimitOffsetPagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "core.filters.SearchFilter",
        "core.filters.OrderingFilter",
    ],
    # The API speaks JSON only: other bodies are a 415 naming it, and every answer is JSON whatever Accept says.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.api.JsonNegotiation",
    "DEFAULT_SCHEMA_CLASS": "core.schema.ContractSchema",
    "EXCEPTION_HANDLER": "core.exceptions.api_exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    # A refresh returns a new refresh token and blacklists the old one, so a stolen refresh token works once.
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "EduPath Analytics API",
    "DESCRIPTION": "Learning analytics for schools and LMS operators. Every figure is computed from stored data.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI assets come from the drf-spectacular-sidecar package: the docs work without internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Errors, tags and summaries come from core.schema.ContractSchema; each response without an example gets one.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "core.schema.complete_schema"],
    "TAGS": [
        {"name": "accounts", "description": "Signing in and out, who you are, schools."},
        {"name": "classroom", "description": "People, courses, enrolments and learning items you may see."},
        {"name": "analytics", "description": "The tracking API, and figures of classes, students and the school."},
        {"name": "gamification", "description": "XP, levels, streaks, achievements and leaderboards."},
        {"name": "messaging", "description": "Messages from teachers to students: sending, and a student's notices."},
        {
            "name": "risk",
            "description": "At-risk prediction for staff: model versions, students' risk with reasons, alerts, "
            "feedback and interventions. Students never receive risk scores (404).",
        },
        {
            "name": "reports",
            "description": "Report definitions over the metric catalogue's datasets, runs (jobs) and their files, "
            "direct exports (CSV, XLSX, JSON, PDF) and schedules by e-mail. Staff only.",
        },
        {
            "name": "recommendations",
            "description": "Next steps with the facts behind them, feedback, dismiss and open; learning paths and "
            "goals; the assistant's explanation and intervention ideas (Gemini when turned on, else local text).",
        },
        {
            "name": "google_classroom",
            "description": "The Google Classroom connector: your connection, connecting and disconnecting, syncing "
            "(jobs), a synced class's analytics and its class summary posted back. Staff only.",
        },
        {"name": "dashboards", "description": "The figures of the student, class and school dashboards."},
        {"name": "live", "description": "Live figures and tickets for the WebSocket stream (/ws/live/)."},
    ],
    "ENUM_NAME_OVERRIDES": {
        "UserRoleEnum": "accounts.models.Role",
        "EnrollmentRoleEnum": "classroom.models.Enrollment.Role",
        "EnrollmentStatusEnum": "classroom.models.Enrollment.Status",
        # the items' `kind` keeps its name beside the interventions' (risk)
        "KindEnum": "classroom.models.LearningItem.Kind",
        "InterventionKindEnum": "risk.models.Intervention.Kind",
        # `type` of a report's chart and of a risk alert
        "ChartTypeEnum": [("line", "line"), ("bar", "bar")],
        "AlertTypeEnum": [("at_risk_student", "at_risk_student")],
    },
}

# SECTION: logging
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Every line names the request it was written for (its X-Request-ID; '-' outside requests): core/api.py.
    "filters": {"correlation_id": {"()": "core.api.CorrelationIdFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["correlation_id"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # The OAuth and HTTP libraries log request bodies and tokens at DEBUG (requests-oauthlib: "Obtained token ...");
    # whatever LOG_LEVEL says, they speak only from WARNING, so no token reaches a log (tests/google_classroom).
    "loggers": {
        name: {"level": "WARNING"}
        for name in (
            "requests_oauthlib",
            "oauthlib",
            "google_auth_oauthlib",
            "google.auth",
            "google_auth_httplib2",
            "googleapiclient",
            "httplib2",
            "urllib3",
        )
    },
}

# SECTION: edupath
# The largest request body the API reads (413 above it, before it is read); also the tracking API's limit.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)
DEMO_PASSWORD = env("DEMO_PASSWORD", default="edupath-demo")
# Learning events older than this are refused by the tracking API (imports are not limited).
EVENT_MAX_AGE_DAYS = env.int("EVENT_MAX_AGE_DAYS", default=30)

# /metrics (Prometheus text) for scrapers without a session: `Authorization: Bearer <METRICS_TOKEN>`; empty: admins only
METRICS_TOKEN = env("METRICS_TOKEN", default="")

# SECTION: gamification (gamification/README.md)
GAMIFICATION_LEVEL_BASE_XP = env.int("GAMIFICATION_LEVEL_BASE_XP", default=100)  # level n starts at base*n*(n-1)/2
GAMIFICATION_STREAK_MIN_DAILY_XP = env.int("GAMIFICATION_STREAK_MIN_DAILY_XP", default=10)  # an active streak day
GAMIFICATION_LEADERBOARD_MIN_STUDENTS = env.int("GAMIFICATION_LEADERBOARD_MIN_STUDENTS", default=5)
# Class averages and percentiles are hidden from students when fewer students contribute (analytics users/{id}).
ANALYTICS_PEER_MIN_STUDENTS = env.int("ANALYTICS_PEER_MIN_STUDENTS", default=5)
# Analytics answers are cached this many seconds at most, and recomputed as soon as new events or XP arrive for the
# organisation (analytics/cache.py); 0 turns the cache off.
ANALYTICS_CACHE_SECONDS = env.int("ANALYTICS_CACHE_SECONDS", default=60)
# True: award XP in the request after commit instead of in a Celery task (tests, where no worker runs)
GAMIFICATION_AWARD_INLINE = env.bool("GAMIFICATION_AWARD_INLINE", default=False)
# Sign-in attempts per account (the username asked for): the brake on guessing one person's password.
AUTH_THROTTLE_RATE = env("AUTH_THROTTLE_RATE", default="10/min")
# Token requests (sign-in and refresh) per client address: generous, since a whole class may sign in together behind
# one school router, yet a ceiling on one machine trying many accounts.
AUTH_THROTTLE_ADDRESS_RATE = env("AUTH_THROTTLE_ADDRESS_RATE", default="300/min")

# SECTION: live updates (live/README.md, docs/realtime.md)
# Events for one scope within this many milliseconds of the first fold into one live_update sent at the end.
LIVE_COALESCE_MS = env.int("LIVE_COALESCE_MS", default=250)
# A WebSocket ticket (POST /api/v1/realtime/ticket) is single-use and valid this many seconds.
LIVE_TICKET_SECONDS = env.int("LIVE_TICKET_SECONDS", default=30)
LIVE_TICKET_THROTTLE_RATE = env("LIVE_TICKET_THROTTLE_RATE", default="30/min")

# SECTION: messaging (messaging/README.md)
# Email: the backend and server (tests use Django's locmem backend); a message goes to each student separately.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="EduPath Analytics <no-reply@edupath.invalid>")
# Where Django's file backend writes each message (./dev run sets it and that backend: .run/mail/*.log).
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(BASE_DIR / ".run" / "mail"))
# Messages one teacher (or administrator) may send in any hour, to any number of students each.
MESSAGING_MAX_PER_HOUR = env.int("MESSAGING_MAX_PER_HOUR", default=20)
MESSAGING_MAX_BODY_CHARS = env.int("MESSAGING_MAX_BODY_CHARS", default=2000)  # at most 10 000 (the database's ceiling)
MESSAGING_MAX_RECIPIENTS = env.int("MESSAGING_MAX_RECIPIENTS", default=500)

# SECTION: reports (reports/README.md)
# Report files live here, outside static and media (never served by the web server): only the download view reads
# them, for whoever may see the run.
REPORTS_STORAGE_DIR = Path(env("REPORTS_STORAGE_DIR", default=str(BASE_DIR / ".run" / "reports")))
REPORTS_FILE_DAYS = env.int("REPORTS_FILE_DAYS", default=7)  # a run's file is removed this many days after it ran
REPORTS_MAX_ROWS = env.int("REPORTS_MAX_ROWS", default=2_000_000)  # a run with more rows is refused (400)
REPORTS_EXPORT_MAX_ROWS = env.int("REPORTS_EXPORT_MAX_ROWS", default=10_000)  # direct (streamed) exports
# A scheduled report's file is attached up to this size; a larger one is sent as a link to its download.
REPORTS_EMAIL_ATTACHMENT_MAX_BYTES = env.int("REPORTS_EMAIL_ATTACHMENT_MAX_BYTES", default=5 * 1024 * 1024)
# The address links in report e-mails point to (the web server's public URL).
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

# SECTION: recommendations (recommendations/README.md)
# Events queue one coalesced refresh per learner (paths, goals, next steps); tests turn it off (nothing consumes it).
RECOMMENDATIONS_REFRESH_QUEUED = env.bool("RECOMMENDATIONS_REFRESH_QUEUED", default=True)
# A dismissed or down-rated item is not suggested again to that student for this many days.
RECOMMENDATIONS_DISMISS_DAYS = env.int("RECOMMENDATIONS_DISMISS_DAYS", default=30)
# How long a set of next steps stands before the nightly refresh replaces it.
RECOMMENDATIONS_TTL_HOURS = env.int("RECOMMENDATIONS_TTL_HOURS", default=36)

# SECTION: gemini (recommendations/gemini.py, docs/decisions/0014-gemini.md)
# Gemini writes explanations and intervention ideas only for organisations that turn it on (AssistantSettings) and
# only while a key is set; without one, everything answers with EduPath's own text.
GEMINI_API_KEY = env("GEMINI_API_KEY", default="")
GEMINI_BASE_URL = env("GEMINI_BASE_URL", default="")  # empty: Google's endpoint (the SDK's default)
GEMINI_MODEL = env("GEMINI_MODEL", default="gemini-2.5-flash")  # an organisation's AssistantSettings.model wins
# One attempt, no retries: a page waits at most this long before it shows the local text.
GEMINI_TIMEOUT_SECONDS = env.float("GEMINI_TIMEOUT_SECONDS", default=8.0)
GEMINI_CACHE_SECONDS = env.int("GEMINI_CACHE_SECONDS", default=86400)  # answers by input hash

# SECTION: google classroom (google_classroom/README.md, docs/decisions/0016-google-classroom.md)
# The OAuth client of the Google Cloud project (README, "Google Classroom"); without an id the connector is off.
GOOGLE_CLIENT_ID = env("GOOGLE_CLIENT_ID", default="")
GOOGLE_CLIENT_SECRET = env("GOOGLE_CLIENT_SECRET", default="")
# Where Google sends the browser back after consent: this server's /integrations/google-classroom/callback.
GOOGLE_REDIRECT_URI = env("GOOGLE_REDIRECT_URI", default="http://127.0.0.1:8000/integrations/google-classroom/callback")
# Fernet keys (urlsafe base64, 32 bytes each), comma-separated, newest first: the first encrypts, all decrypt;
# `manage.py rotate_google_tokens` re-encrypts every stored token with the first. Empty: nothing can be connected.
GOOGLE_TOKEN_KEYS = env.list("GOOGLE_TOKEN_KEYS", default=[])
# Google's endpoints. Only tests change them (a local fake); production never needs to.
GOOGLE_AUTH_URI = env("GOOGLE_AUTH_URI", default="https://accounts.google.com/o/oauth2/auth")
GOOGLE_TOKEN_URI = env("GOOGLE_TOKEN_URI", default="https://oauth2.googleapis.com/token")
GOOGLE_REVOKE_URI = env("GOOGLE_REVOKE_URI", default="https://oauth2.googleapis.com/revoke")
GOOGLE_CLASSROOM_ENDPOINT = env("GOOGLE_CLASSROOM_ENDPOINT", default="https://classroom.googleapis.com/")
# One request waits at most this long; a 429 or 5xx is retried this many times with exponential backoff and jitter
# from the base delay, honouring Retry-After up to the cap.
GOOGLE_TIMEOUT_SECONDS = env.float("GOOGLE_TIMEOUT_SECONDS", default=30.0)
GOOGLE_RETRIES = env.int("GOOGLE_RETRIES", default=5)
GOOGLE_RETRY_BASE_SECONDS = env.float("GOOGLE_RETRY_BASE_SECONDS", default=1.0)
GOOGLE_RETRY_MAX_SECONDS = env.float("GOOGLE_RETRY_MAX_SECONDS", default=60.0)
# Courses read from Google at once during a sync (each reader waits on Google's latency; writing stays one course
# at a time). Google's per-user quota is far above what four readers ask.
GOOGLE_SYNC_READERS = env.int("GOOGLE_SYNC_READERS", default=4)
