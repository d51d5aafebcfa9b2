from django.db import models


class Note(models.Model):
    text = models.CharField(max_length=200)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return self.text


class Upload(models.Model):
    file = models.FileField(upload_to="uploads/%Y/%m/")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
