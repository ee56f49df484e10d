from django.http import HttpResponse


def unit_list(request, event_code):
    return HttpResponse("units")
