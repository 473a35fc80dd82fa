"""``GET /metrics``: Prometheus metrics from the official ``prometheus_client``, in multiprocess mode.

Every process (uvicorn workers, the django-q2 cluster's workers) writes its counters to files in
``PROMETHEUS_MULTIPROC_DIR`` (settings: default ``var/prometheus``; give each machine its own directory,
emptied at boot, e.g. a tmpfs), and whichever web worker answers the scrape adds them all up. Gauges of
live things (long-poll waiters, WebSocket connections) count live processes only: the files of a
process that died (even by SIGKILL) are dropped at the next scrape.

The apps add their own collectors (``register``, from their ``AppConfig.ready``): the inbox's metrics
are described in ``inbox.metrics``. This module adds ``orchestra_task_queue_depth``: tasks waiting on
the django-q2 broker (Redis list or ORM table), read at each scrape.

Who may read it (``metrics_allowed``): a request with ``Authorization: Bearer <ORCHESTRA_METRICS_TOKEN>``
when that setting is set, or one from an address in ``ORCHESTRA_METRICS_ALLOWED_NETWORKS`` (CIDRs;
default loopback only). Anything else gets 404, as if there were nothing here.
"""
import hmac
import ipaddress
import logging
import os
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger("orchestra.metrics")
_collectors: list = []


def register(collector) -> None:
    """Add ``collector`` (an object with ``collect()`` yielding metric families) to every scrape.
    Called by apps from ``AppConfig.ready``; registering the same collector twice keeps one."""
    if collector not in _collectors:
        _collectors.append(collector)


class QueueDepthCollector:
    """``orchestra_task_queue_depth``: tasks waiting on the django-q2 broker (not yet taken by a worker)."""

    def describe(self):
        return []

    def collect(self):
        from django_q.brokers import get_broker

        depth = GaugeMetricFamily("orchestra_task_queue_depth", "django-q2 tasks waiting on the broker.")
        try:
            depth.add_metric([], get_broker().queue_size())
        except Exception:  # the broker is down: say nothing rather than fail the scrape (readyz says it)
            log.warning("metrics: could not read the task queue depth", exc_info=True)
            return
        yield depth


def drop_dead_processes(path: str) -> None:
    """Forget the live gauges of processes that are gone (``mark_process_dead``), so a killed worker's
    WebSocket connections and long-poll waiters stop counting."""
    for file in Path(path).glob("gauge_live*_*.db"):
        pid = int(file.stem.rsplit("_", 1)[1])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, path)
        except PermissionError:  # alive, someone else's
            pass


def metrics_allowed(request) -> bool:
    """True when ``request`` may read the metrics (module docstring): the bearer token, compared in
    constant time, or a client address inside ``ORCHESTRA_METRICS_ALLOWED_NETWORKS``."""
    token = settings.ORCHESTRA_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip().encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    networks = [ipaddress.ip_network(n.strip(), strict=False)
                for n in settings.ORCHESTRA_METRICS_ALLOWED_NETWORKS if n.strip()]
    return any(address in net for net in networks)


def scrape() -> bytes:
    """The metrics of every process on this machine, and the registered collectors', as text."""
    registry = CollectorRegistry()
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        drop_dead_processes(path)
        multiprocess.MultiProcessCollector(registry, path=path)
    for collector in [QueueDepthCollector(), *_collectors]:
        registry.register(collector)
    return generate_latest(registry)


@require_GET
def metrics_view(request):
    if not metrics_allowed(request):
        raise Http404
    return HttpResponse(scrape(), content_type=CONTENT_TYPE_LATEST)
