import os

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the web app and the API with the ASGI server (static files included)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1, help="server processes")

    def handle(self, *args, host, port, workers, **options):
        serve(host=host, port=port, workers=workers)


def serve(*, host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    # The server's processes take their database connections from a pool (settings.py).
    os.environ["EVENTGUARD_SERVING"] = "1"

    uvicorn.run(
        "eventguard.asgi:application",
        host=host,
        port=port,
        workers=workers,
        log_level="info" if settings.DEBUG else "warning",
        proxy_headers=True,
        lifespan="off",
    )
