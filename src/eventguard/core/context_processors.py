from . import access
from .nav import menu_for


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    event = getattr(request, "event", None)
    return {
        "user_events": access.events_held(user),
        "current_event": event,
        "current_roles": sorted(access.roles_in(user, event)) if event else [],
        "menu": menu_for(user, event),
    }
