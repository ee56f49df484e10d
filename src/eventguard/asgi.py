import os

from django.conf import settings
from django.core.asgi import get_asgi_application

from eventguard.core.admission import AdmissionControl

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventguard.settings")
application = get_asgi_application()

if settings.SERVING:
    # Each server process works on a few requests at a time (docs/deployment.md).
    application = AdmissionControl(
        application, limit=settings.SERVE_CONCURRENCY, hold=settings.SERVE_HOLD_SECONDS
    )
