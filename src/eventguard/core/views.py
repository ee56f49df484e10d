"""The registry's web pages: thin views that parse, call a service or selector, render."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from . import access, services
from .web import event_view


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


@login_required
def home(request):
    events = list(access.events_for(request.user)[:2])
    if len(events) == 1:
        return redirect("core:event_home", events[0].code)
    return redirect("core:event_list")


@require_POST
def set_language(request):
    language = request.POST.get("language", "")
    if language not in {"zh-hans", "en"}:
        language = translation.get_language()
    if request.user.is_authenticated and request.user.language != language:
        services.person_set_language(actor=request.user, language=language)
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    translation.activate(language)
    response = HttpResponseRedirect(target)
    from django.conf import settings

    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax")
    return response


@login_required
def event_list(request):
    return render(request, "core/event_list.html", {"events": access.events_for(request.user)})


@event_view
def event_home(request, event):
    return render(request, "core/event_home.html", {"event": event})


@event_view
def unit_list(request, event):
    return HttpResponse("units")
