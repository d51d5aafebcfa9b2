"""A database router installed by ntier.django, first in DATABASE_ROUTERS when the
project reads from replicas (django-multidb-router's PinningReplicaRouter comes next).

Sessions, users, permissions and content types are read from the primary always: a
session written at login and read a moment later from a replica that has not replayed it
yet would log the user out. Every other model is left to the next router.
"""

PRIMARY_APPS = frozenset({"sessions", "auth", "contenttypes"})


class PrimaryForAccounts:
    def db_for_read(self, model, **hints):
        return "default" if model._meta.app_label in PRIMARY_APPS else None
