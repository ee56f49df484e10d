import os

import django
from django.conf import settings

from eventguard.core.admission import AdmissionControl
from eventguard.core.handler import OneThreadASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventguard.settings")
django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application() does
application = OneThreadASGIHandler()

if settings.SERVING:
    # Each server process works on a few requests at a time (docs/deployment.md).
    application = AdmissionControl(
        application, limit=settings.SERVE_CONCURRENCY, hold=settings.SERVE_HOLD_SECONDS
    )
