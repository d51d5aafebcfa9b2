"""Health endpoint for load balancers, installed by ntier.django.

It sits first in MIDDLEWARE, so it answers before SecurityMiddleware (no HTTPS redirect)
and without calling request.get_host() (no ALLOWED_HOSTS check): a load balancer probes
nodes by address, over plain HTTP.

The path itself is liveness: the process answers, with its release. The load balancers
probe it, so that a database outage does not take every node out of rotation at once
(pages that need no database, the cache, static files keep answering). With "?ready" it
is readiness: the database answers too (what a deploy waits for before a node goes back).
"""
import json

from django.conf import settings
from django.db import connection
from django.http import HttpResponse


class HealthMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.path = settings.NTIER_HEALTH_PATH
        self.release = settings.NTIER_RELEASE

    def __call__(self, request):
        if request.path != self.path:
            return self.get_response(request)
        status, body = 200, {"status": "ok", "release": self.release}
        if "ready" in request.GET:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
            except Exception as exc:  # any database failure: not ready
                status, body = 503, {"status": "database unavailable", "release": self.release,
                                     "error": type(exc).__name__}
        response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
        response["Cache-Control"] = "no-store"
        response["X-Release"] = self.release
        return response
