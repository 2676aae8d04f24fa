"""Settings for the pytest suite: real PostgreSQL and Redis, isolated from a running development instance."""

from .base import *  # noqa: F403
from .base import CACHES, CHANNEL_LAYERS, REDIS_URL, env, redis_url_for

DEBUG = False
SECRET_KEY = "edupath-test-key-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast hashing; security is not under test

# Separate Redis databases from those of ./dev run, so a development worker never consumes a test's tasks and
# flushing test state never touches development data.
TEST_REDIS_DB_CACHE = env.int("TEST_REDIS_DB_CACHE", default=11)
TEST_REDIS_DB_BROKER = env.int("TEST_REDIS_DB_BROKER", default=12)
TEST_REDIS_DB_CHANNELS = env.int("TEST_REDIS_DB_CHANNELS", default=13)
CACHES["default"]["LOCATION"] = redis_url_for(REDIS_URL, TEST_REDIS_DB_CACHE)
CACHES["default"]["KEY_PREFIX"] = "edupath-test"
CELERY_BROKER_URL = redis_url_for(REDIS_URL, TEST_REDIS_DB_BROKER)
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_TASK_DEFAULT_QUEUE = "edupath-test"
CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["address"] = redis_url_for(REDIS_URL, TEST_REDIS_DB_CHANNELS)
CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = "edupath-test"

AUTH_THROTTLE_RATE = "1000/min"
AUTH_THROTTLE_ADDRESS_RATE = "10000/min"
# Serve static files from the apps' folders (no collectstatic before tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# No Celery worker serves the tests: XP is awarded in the request, right after the ingestion commits.
GAMIFICATION_AWARD_INLINE = True
# Tests read right after they write, often without running on-commit callbacks: no analytics cache, except in
# tests/analytics/test_cache.py.
ANALYTICS_CACHE_SECONDS = 0
# Report files of the tests, apart from a development instance's.
REPORTS_STORAGE_DIR = BASE_DIR / ".run" / "test-reports"
# Never Google from the tests, whatever the environment holds: Gemini tests set a key and point GEMINI_BASE_URL at
# their local fake (tests/recommendations/fake_gemini.py).
RECOMMENDATIONS_REFRESH_QUEUED = False  # the hook is tested on its own (tests/recommendations/test_live.py)
GEMINI_API_KEY = ""
GEMINI_BASE_URL = ""
# Nor Google Classroom: its tests point these at their local fake (tests/google_classroom/fake_google.py).
GOOGLE_CLIENT_ID = ""
GOOGLE_CLIENT_SECRET = ""
GOOGLE_TOKEN_KEYS = []
# a port nothing listens on (discard): a test that forgets the fake fails at once
GOOGLE_AUTH_URI = GOOGLE_TOKEN_URI = GOOGLE_REVOKE_URI = GOOGLE_CLASSROOM_ENDPOINT = "http://127.0.0.1:9/"  # noqa: S105
GOOGLE_RETRY_BASE_SECONDS = 0.01
GOOGLE_RETRY_MAX_SECONDS = 0.2
GOOGLE_TIMEOUT_SECONDS = 5.0
