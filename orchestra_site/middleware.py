"""Site middleware: static files without a thread hop on ASGI, the request body size limit, and the
request's trace context for the audit trail."""
from inspect import iscoroutinefunction

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import JsonResponse
from django.utils.decorators import sync_and_async_middleware
from whitenoise.middleware import WhiteNoiseMiddleware

from governance.audit.context import new_trace_id, trace_id_from, traced


@sync_and_async_middleware
def static_files(get_response):
    """WhiteNoise, minus its cost on ASGI: WhiteNoise is sync-only, which made every request hop from
    the event loop to a thread and back (measured ~1 ms per request). Here only paths under the static
    prefix go through it; everything else stays on the event loop."""
    if not iscoroutinefunction(get_response):
        return WhiteNoiseMiddleware(get_response)
    whitenoise = WhiteNoiseMiddleware(lambda request: None)
    serve = sync_to_async(whitenoise, thread_sensitive=False)

    async def middleware(request):
        if request.path_info.startswith(whitenoise.static_prefix):
            response = await serve(request)
            if response is not None:
                return response
        return await get_response(request)

    return middleware


def _too_large(request) -> JsonResponse | None:
    """413 when the declared body is over ``ORCHESTRA_MAX_BODY_BYTES`` (a body without a declared
    length is cut off by Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` and answered 413 by the API)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    limit = settings.ORCHESTRA_MAX_BODY_BYTES
    if length > limit:
        return JsonResponse(
            {"detail": f"Request body is {length} bytes; the limit is {limit} bytes.", "code": "too_large",
             "field": "body", "limit_bytes": limit},
            status=413,
        )
    return None


@sync_and_async_middleware
def body_size_limit(get_response):
    if iscoroutinefunction(get_response):
        async def middleware(request):
            return _too_large(request) or await get_response(request)
    else:
        def middleware(request):
            return _too_large(request) or get_response(request)
    return middleware


@sync_and_async_middleware
def trace_context(get_response):
    """Run each request under its W3C trace id (from ``traceparent``, or a new one) and workflow (from
    ``X-Workflow-Id``), so every audit event it writes names them (``governance.audit.context``)."""

    def context_of(request):
        trace_id = trace_id_from(request.META.get("HTTP_TRACEPARENT")) or new_trace_id()
        request.trace_id = trace_id
        return traced(trace_id=trace_id, workflow=(request.META.get("HTTP_X_WORKFLOW_ID") or "").strip())

    if iscoroutinefunction(get_response):
        async def middleware(request):
            with context_of(request):
                return await get_response(request)
    else:
        def middleware(request):
            with context_of(request):
                return get_response(request)
    return middleware
