from django.urls import include, path

from .api import api

urlpatterns = [
    path("api/", api.urls),
    path("", include("eventguard.equipment.urls")),
    path("", include("eventguard.hazards.urls")),
    path("", include("eventguard.coldchain.urls")),
    path("", include("eventguard.core.urls")),
]
