from django.urls import include, path

from .api import api
from .core.urls import root_urlpatterns

urlpatterns = [
    path("api/", api.urls),
    path("epcis/", include("eventguard.coldchain.epcis_urls")),
    *root_urlpatterns,
    path("", include("eventguard.equipment.urls")),
    path("", include("eventguard.hazards.urls")),
    path("", include("eventguard.coldchain.urls")),
    path("", include("eventguard.telemetry.urls")),
    path("", include("eventguard.alerts.urls")),
    path("", include("eventguard.command.urls")),
    path("", include("eventguard.core.urls")),
]
