"""Health endpoint for load balancers, installed by ntier.django.

It sits first in MIDDLEWARE, so it answers before SecurityMiddleware (no HTTPS redirect)
and without calling request.get_host() (no ALLOWED_HOSTS check): a load balancer probes
nodes by address, over plain HTTP. It checks the database and reports the release.
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
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as exc:  # any database failure makes the node unhealthy
            status, body = 503, {"status": "database unavailable", "release": self.release, "error": type(exc).__name__}
        response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
        response["Cache-Control"] = "no-store"
        response["X-Release"] = self.release
        return response
