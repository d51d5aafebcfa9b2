"""The static files storage installed by ntier.django: Django's ManifestStaticFilesStorage,
except that collectstatic replaces a file in one rename instead of deleting it and writing
it again.

A deploy collects the static files into the STATIC_ROOT the site serves meanwhile. Django's
post-processing deletes every processed file (stylesheets: their url()s are rewritten) and
saves it again, on every run and in every pass, even when nothing changed: a client asking
for it in between got a 404, or an empty or half-written file. Here a delete is held back
until the same name is saved, which then writes a temporary file beside it and renames it
over the old one; a reader sees the old file or the new one, whole. A name deleted and not
saved again is deleted at the end of post-processing, as Django would have.
"""
import os
import tempfile

from django.contrib.staticfiles import storage


class ManifestStaticFilesStorage(storage.ManifestStaticFilesStorage):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._ntier_replacing = set()

    def delete(self, name):
        if name and os.path.isfile(self.path(name)) and not os.path.islink(self.path(name)):
            self._ntier_replacing.add(name)
        else:
            super().delete(name)

    def exists(self, name):
        return name not in self._ntier_replacing and super().exists(name)

    def _save(self, name, content):
        if name not in self._ntier_replacing:
            return super()._save(name, content)
        path = self.path(name)
        fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".ntier-")
        try:
            with os.fdopen(fd, "wb") as f:
                if hasattr(content, "seek"):
                    content.seek(0)
                for chunk in content.chunks():
                    f.write(chunk if isinstance(chunk, bytes) else chunk.encode())
            if self.file_permissions_mode is not None:
                os.chmod(temporary, self.file_permissions_mode)
            else:
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(temporary, 0o666 & ~umask)
            os.replace(temporary, path)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
        self._ntier_replacing.discard(name)
        return name

    def post_process(self, *args, **kwargs):
        yield from super().post_process(*args, **kwargs)
        for name in sorted(self._ntier_replacing):
            super().delete(name)
        self._ntier_replacing.clear()
