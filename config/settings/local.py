"""Development settings: what ./dev run uses."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="edupath-local-development-key-not-for-production-use-0123456789")
# WhiteNoise serves static files straight from the apps' folders, so no collectstatic is needed while developing.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
