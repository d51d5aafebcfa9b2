"""Local development: runserver with SQLite."""
from .base import *  # noqa: F401,F403
from .base import BASE_DIR

DEBUG = True
SECRET_KEY = "development-only-not-secret"
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}
MEDIA_ROOT = BASE_DIR / "media"
STATIC_ROOT = BASE_DIR / "static-collected"
