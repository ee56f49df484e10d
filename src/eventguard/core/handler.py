"""The web server's request handler: Django's ASGI handler with the request's whole way
through the middleware and the view in one thread.

Django's own ASGI handler runs the middleware that can run either way in the event loop and
crosses to a thread for each part that cannot (this project's own middleware, the views,
which are synchronous): a request went from the event loop to a thread for the upper
middleware, back to the event loop for the lower ones and to the thread again for the
view. Here the middleware chain is built synchronously and the request crosses to its
thread once, where the middleware and the view run one after the other, as under WSGI. The
answer is still sent from the event loop, so the feed's event stream (an asynchronous
iterator) streams as before, and a request's thread is its own (asgiref's thread-sensitive
context per request): one request's database connection is not another's.
"""

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler


class OneThreadASGIHandler(ASGIHandler):
    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)
