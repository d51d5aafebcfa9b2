import socket

from django import forms
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.core import signing
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import cache_page

from .models import Note, Upload


class NoteForm(forms.Form):
    text = forms.CharField(max_length=200)


class UploadForm(forms.Form):
    file = forms.FileField()

    def clean_file(self):
        f = self.cleaned_data["file"]
        if f.size > settings.NOTES_MAX_UPLOAD_BYTES:
            raise forms.ValidationError("file too large")
        return f


def home(request):
    return render(request, "notes/home.html", {"node": socket.gethostname()})


def notes(request):
    """GET lists the notes (read from the database); POST writes one."""
    if request.method == "POST":
        form = NoteForm(request.POST)
        if not form.is_valid():
            return HttpResponseBadRequest("invalid note")
        Note.objects.create(text=form.cleaned_data["text"])
        return redirect("notes")
    return render(request, "notes/notes.html", {"notes": Note.objects.all()[:50], "form": NoteForm()})


@cache_page(60)
def cached(request):
    """Rendered once a minute, then served from the cache."""
    return render(
        request,
        "notes/cached.html",
        {"rendered_at": timezone.now().isoformat(), "count": Note.objects.count(), "node": socket.gethostname()},
    )


def upload(request):
    """GET lists the uploads; POST stores a file in MEDIA_ROOT through the default storage."""
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return HttpResponseBadRequest("invalid upload")
        Upload.objects.create(file=form.cleaned_data["file"])
        return redirect("upload")
    return render(request, "notes/upload.html", {"uploads": Upload.objects.all()[:50], "form": UploadForm()})


def request_info(request):
    """What Django sees of the request: the scheme and the client, as the proxies passed them on."""
    return JsonResponse({
        "secure": request.is_secure(),
        "host": request.get_host(),
        "forwarded_for": request.META.get("HTTP_X_FORWARDED_FOR", ""),
        "node": socket.gethostname(),
    })


def visits(request):
    """A counter kept in the session: it survives a SECRET_KEY rotation (and every node
    reads the same session), or starts again at 1."""
    request.session["visits"] = request.session.get("visits", 0) + 1
    return JsonResponse({"visits": request.session["visits"], "node": socket.gethostname()})


def signed(request):
    """Without ?token=: a token signed with SECRET_KEY. With it: 200 when the signature
    checks (SECRET_KEY or a fallback), 400 when not. Shows a key rotation keeps tokens."""
    token = request.GET.get("token")
    if token is None:
        return JsonResponse({"token": signing.dumps({"node": socket.gethostname()}, salt="demo.signed")})
    try:
        return JsonResponse({"value": signing.loads(token, salt="demo.signed")})
    except signing.BadSignature:
        return JsonResponse({"error": "bad signature"}, status=400)


def signup(request):
    """An account of one's own: created and logged in, then the private page."""
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.save())
        return redirect("private")
    return render(request, "notes/account.html", {"form": form, "title": "Sign up"})


@login_required
def private(request):
    """Only for a logged-in user: who Django says it is."""
    return JsonResponse({"user": request.user.get_username(), "node": socket.gethostname()})
