"""What every web view of every domain shares: the event from the URL, errors into forms."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError

from .selectors import event_by_code
from .servicekit import error_dict


def event_view(view):
    """A page under ``/e/<event_code>/``: logged in, and the event one the user holds a role
    in (else 404). The event is passed as ``event`` and kept on ``request.event`` for the
    menu and the event switcher."""

    @login_required
    @wraps(view)
    def wrapper(request, event_code, *args, **kwargs):
        event = event_by_code(request.user, event_code)
        request.event = event
        return view(request, event, *args, **kwargs)

    return wrapper


class Query(dict):
    """A page's query parameters for its filter form (the last value of each, as
    ``request.GET[...]`` gives it), and "" for one not given. A template's ``query.state``
    then finds its value at once: on the QueryDict itself a parameter not given costs an
    exception and a listing of the QueryDict's attributes, for every option of a select
    that asks whether it is the chosen one."""

    def __missing__(self, key: str) -> str:
        return ""


def query_of(request) -> Query:
    return Query(request.GET.items())


def list_context(request, page, filters, filter_errors, **extra) -> dict:
    """What a list page with a filter form puts in its template: the page of records, the
    filters and their errors, the query and whether any filter is set."""
    return {
        "page": page,
        "filters": filters,
        "filter_errors": filter_errors,
        "query": query_of(request),
        "is_filtered": any(v not in (None, "") for v in filters.model_dump().values()),
        **extra,
    }


def add_service_errors(form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: on its field when the form has one."""
    for field, messages in error_dict(exc).items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, message)
