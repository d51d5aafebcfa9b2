"""Production settings of the project itself.

A deployment tool extends this module and sets what the deployment owns (databases,
caches, hosts, secrets, paths); what is here is the project's own business.
"""
from .base import *  # noqa: F401,F403

DEBUG = False
SESSION_COOKIE_AGE = 14 * 24 * 3600
X_FRAME_OPTIONS = "DENY"
