"""WSGI entry point, for running the HTTP side under a WSGI server (see docs/decisions/0002-process-model.md)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

application = get_wsgi_application()
