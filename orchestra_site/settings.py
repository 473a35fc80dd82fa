"""Orchestra settings.

Every deployment knob is read from the environment (django-environ) with a documented default, so the
same code runs embedded on a laptop and in production:

- ``DATABASE_URL``: default ``sqlite:///<repo>/var/db.sqlite3``; ``postgres://…`` for PostgreSQL.
- ``REDIS_URL``: unset = Channels' in-memory layer, local-memory cache and django-q2's ORM broker;
  set = channels_redis (pub/sub layer), Redis cache and the Redis broker.
- ``ORCHESTRA_CHANNELS_PREFIX``: the pub/sub layer's channel prefix (default ``orchestra-db<N>``, N the
  ``REDIS_URL`` database: Redis pub/sub ignores database numbers, so two instances on one Redis
  server would otherwise hear each other's live events).
- ``SECRET_KEY`` (or ``DJANGO_SECRET_KEY``), ``DEBUG``, ``ALLOWED_HOSTS``, ``CSRF_TRUSTED_ORIGINS``.
  Production mode (``DATABASE_URL`` set, ``DEBUG`` off) refuses to start without ``SECRET_KEY``;
  ``SECRET_KEY_FALLBACKS`` (comma-separated) keeps older keys valid while rotating.
- HTTPS: ``SECURE_SSL_REDIRECT``, ``SECURE_HSTS_SECONDS``, ``SECURE_HSTS_INCLUDE_SUBDOMAINS``,
  ``SECURE_HSTS_PRELOAD``, ``SESSION_COOKIE_SECURE``, ``CSRF_COOKIE_SECURE`` (on by default in production
  mode), ``SECURE_PROXY_SSL_HEADER`` (WSGI behind a proxy: ``HTTP_X_FORWARDED_PROTO``).
- ``LOG_LEVEL`` (default INFO) and ``LOG_FORMAT`` (``json`` in production mode, else ``plain``): see
  ``orchestra_site/request_log.py``. ``UVICORN_ACCESS_LOG`` (default false): uvicorn's access lines too.
  ``ORCHESTRA_REQUEST_LOG``: ``all`` (default) or ``refused`` (one line only per refused or failed request).
- ``ORCHESTRA_METRICS_TOKEN``, ``ORCHESTRA_METRICS_ALLOWED_NETWORKS`` (who may read ``/metrics``),
  ``PROMETHEUS_MULTIPROC_DIR``, ``ORCHESTRA_READYZ_TIMEOUT`` (seconds per readiness check).
- ``ORCHESTRA_Q_WORKERS`` (default 2), ``ORCHESTRA_Q_TIMEOUT`` (seconds per task, default 60).
- ``ORCHESTRA_WEBHOOK_SECRET_GRACE_SECONDS``: how long a rotated webhook secret still signs (default 7 days).
- ``ORCHESTRA_STATIC_MANIFEST``, ``STATIC_ROOT``: hashed, compressed static files (default on in production).
The operator's runbook, with all of these, is ``docs/operations.md``.
- ``ORCHESTRA_MAX_BODY_BYTES``: largest API request body accepted (bytes, default 1 MiB); larger is 413.
- ``ORCHESTRA_WEBHOOK_TIMEOUT``: seconds per callback POST (default 5).
- ``ORCHESTRA_WEBHOOK_ALLOWED_NETWORKS``: comma-separated CIDRs callbacks may reach (default: any
  address but link-local, unspecified, multicast and reserved ones; see ``inbox/callbacks.py``).
- ``ORCHESTRA_DB_POOL_MAX``: PostgreSQL connection pool size per process (default 20).
- ``ORCHESTRA_LOGIN_FAILURE_LIMIT``: failed sign-ins after which an account, and separately an address,
  is locked out (default 5; django-axes). ``ORCHESTRA_LOGIN_COOLOFF_MINUTES``: how long a lockout lasts
  after the last failure (default 15; 0 = until an admin unlocks). The address is ``REMOTE_ADDR``:
  behind a reverse proxy let uvicorn take the client from ``X-Forwarded-For`` for that proxy only
  (``--forwarded-allow-ips=<proxy address>``, or ``FORWARDED_ALLOW_IPS``; 127.0.0.1 is trusted by default).
  Otherwise every user shares the proxy's address, and a few failures anywhere lock everyone out.
- ``ORCHESTRA_AUDIT_KEY``: key of the audit trail's hash chain (default: derived from ``SECRET_KEY``). Keep
  it out of the database and never change it: ``verify_audit`` checks every link with it.
- ``ORCHESTRA_LONG_POLL_RECHECK_SECONDS``: a waiting long-poll (``/wait``) re-reads its proposal at
  least this often (seconds; default 1 with the in-memory channel layer, 5 with Redis). A safety net:
  events wake waiters at once, and ``inbox.watcher`` carries other processes' changes to the
  in-memory layer.
"""
import os
from datetime import timedelta
from pathlib import Path

import environ
from csp import constants as csp

from orchestra_site.request_log import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
(BASE_DIR / "var").mkdir(exist_ok=True)

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# Production mode: a real database is named and DEBUG is off. Its defaults are the safe ones (a
# SECRET_KEY is required, HTTPS settings on, JSON logs); each can still be set from the environment.
PRODUCTION = bool(env.str("DATABASE_URL", default="")) and not DEBUG
SECRET_KEY = env.str("SECRET_KEY", default=env.str("DJANGO_SECRET_KEY", default=""))
if not SECRET_KEY and PRODUCTION:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "SECRET_KEY is not set. In production mode (DATABASE_URL set, DEBUG off) every process must share "
        "one secret key, or sessions and signed values break across web workers and machines. Set it in "
        "the environment, e.g. SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
        "and keep it: see docs/operations.md, 'Secrets'."
    )
if not SECRET_KEY:
    # Embedded mode: a per-checkout key kept in var/, never committed.
    key_file = BASE_DIR / "var" / "secret_key"
    if not key_file.exists():
        from django.utils.crypto import get_random_string

        key_file.write_text(get_random_string(64))
    SECRET_KEY = key_file.read_text().strip()

# Older keys still accepted for sessions, password resets and signed values: rotate SECRET_KEY by moving
# the old one here (comma-separated) without logging everyone out; drop it after SESSION_COOKIE_AGE.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "guardian",
    "axes",
    "csp",
    "simple_history",
    "django_q",
    "ninja",  # serves /api/docs (Swagger UI) from its bundled static files, not a CDN
    "governance",
    "inbox",
    "incidents",
    "reports",
]

MIDDLEWARE = [
    "orchestra_site.request_log.request_id",  # first: every later log line carries the request id
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "orchestra_site.middleware.static_files",
    "orchestra_site.middleware.body_size_limit",
    "orchestra_site.middleware.trace_context",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "orchestra_site.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
WSGI_APPLICATION = "orchestra_site.wsgi.application"
ASGI_APPLICATION = "orchestra_site.asgi.application"

# --- Database -------------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent writers would otherwise raise "database is locked" (see PLATFORM-NOTES).
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file (not :memory:) so live-server threads share it; one per process so parallel runs do not clash.
    _db["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test_db_{os.getpid()}.sqlite3")}
elif "postgresql" in _db["ENGINE"]:
    # Persistent connections are not reused under ASGI; the psycopg pool is (PLATFORM-NOTES).
    _db["CONN_MAX_AGE"] = 0
    _db.setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env.int("ORCHESTRA_DB_POOL_MAX", default=20),
        "timeout": 20,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache, task broker -------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # Redis pub/sub channels ignore the database number: without a prefix of its own, every Orchestra
    # on one Redis server (one per database) would hear the others' live events.
    _redis_db = (env.url("REDIS_URL").path or "/0").strip("/") or "0"
    CHANNEL_LAYERS = {
        "default": {
            # The pub/sub layer held 200 sockets under load where RedisChannelLayer did not.
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env.str("ORCHESTRA_CHANNELS_PREFIX",
                                                                default=f"orchestra-db{_redis_db}")},
        }
    }
    # Django's RedisCache, keeping one Redis client per pool (orchestra_site.cache).
    CACHES = {"default": {"BACKEND": "orchestra_site.cache.PooledClientRedisCache", "LOCATION": REDIS_URL}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    # A file cache, not process memory: the web server and the q2 cluster share it (policy version).
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": str(BASE_DIR / "var" / "cache")}}

Q_CLUSTER = {
    "name": "orchestra",
    "workers": env.int("ORCHESTRA_Q_WORKERS", default=2),
    # Seconds a task may run before the cluster kills it; retry (ORM broker) must be longer.
    "timeout": env.int("ORCHESTRA_Q_TIMEOUT", default=60),
    "retry": env.int("ORCHESTRA_Q_TIMEOUT", default=60) + 60,
    "max_attempts": 1,  # webhook retries are explicit, with backoff, from the outbox (inbox.outbox)
    "catch_up": False,
    "label": "Tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = 0.5

# Rate limits (governance.limits) share the cache's storage in production.
RATELIMIT_STORAGE_URL = REDIS_URL or "memory://"

# --- Auth -------------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # First, as django-axes asks: refuses a locked-out sign-in before a password is even checked.
    # Bearer tokens (inbox.auth) never call authenticate(), so lockouts do not touch the API.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user object
GUARDIAN_RAISE_403 = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "inbox:home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

# --- Login lockout (django-axes) --------------------------------------------------------------------
# Failures are counted per username (from any address) and, separately, per address (for any
# username); either one reaching the limit locks. Admins unlock in Django admin (Axes › Access
# attempts: delete the row) or with ``manage.py axes_reset_username <name>`` / ``axes_reset_ip <ip>``.
AXES_FAILURE_LIMIT = env.int("ORCHESTRA_LOGIN_FAILURE_LIMIT", default=5)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
_cooloff = env.float("ORCHESTRA_LOGIN_COOLOFF_MINUTES", default=15)
AXES_COOLOFF_TIME = timedelta(minutes=_cooloff) if _cooloff > 0 else None
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"  # rendered with status 429 (axes' default)
AXES_RESET_ON_SUCCESS = False  # a success from an address must not wipe that address's failures
AXES_VERBOSE = False

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- HTTPS (behind a TLS-terminating proxy; see docs/operations.md) ---------------------------------------
# Production defaults: cookies only over HTTPS, plain HTTP redirected (except the health and metrics
# endpoints, which load balancers and Prometheus call on the internal address), HSTS for a year.
# uvicorn learns the scheme from X-Forwarded-Proto of the proxies in --forwarded-allow-ips
# (FORWARDED_ALLOW_IPS); under WSGI set SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO instead, and only
# when the proxy always sets that header itself.
# "Served under a real host name" is what turns the HTTPS defaults on: a production-mode process that
# only answers on loopback (a trial, the contract checks, a sidecar) is left on plain HTTP.
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "[::1]", "testserver"}
PUBLIC = PRODUCTION and not set(ALLOWED_HOSTS) <= LOOPBACK_HOSTS
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=PUBLIC)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=SESSION_COOKIE_SECURE)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PUBLIC)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if PUBLIC else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PUBLIC)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if _proxy_header := env.str("SECURE_PROXY_SSL_HEADER", default=""):
    SECURE_PROXY_SSL_HEADER = (_proxy_header, "https")
# Preloading HSTS is a commitment the operator makes (hstspreload.org), not a default: don't warn about it.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
X_FRAME_OPTIONS = "DENY"
# Messages are kept in the session (server-side), never in a signed but readable cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
# History is read, never reverted: a revert saves whatever the history form posts (governance.admin).
SIMPLE_HISTORY_REVERT_DISABLED = True
SECURE_CONTENT_TYPE_NOSNIFF = True

# --- Content-Security-Policy (django-csp) -----------------------------------------------------------
# Scripts, styles, fonts and XHR/WebSocket connections only from this origin ('self' covers ws:/wss:
# to the same host in CSP Level 3 browsers); no inline <script>, style="" or <style> anywhere, so an
# escaping mistake cannot run a script. Templates keep values in data- attributes for static/*.js.
# Django admin needs nothing more. /api/docs does when django-ninja serves Swagger UI from its CDN
# template, which it does unless "ninja" is in INSTALLED_APPS (then: local static files, no inline code).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF],
        "style-src": [csp.SELF],
        "img-src": [csp.SELF, "data:"],
        "font-src": [csp.SELF],
        "connect-src": [csp.SELF],
        "object-src": [csp.NONE],
        "base-uri": [csp.SELF],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "var" / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# --- Orchestra --------------------------------------------------------------------------------------
ORCHESTRA_AUDIT_KEY = env.str("ORCHESTRA_AUDIT_KEY", default="") or f"derived:{SECRET_KEY}"
ORCHESTRA_MAX_BODY_BYTES = env.int("ORCHESTRA_MAX_BODY_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = ORCHESTRA_MAX_BODY_BYTES
ORCHESTRA_WEBHOOK_TIMEOUT = env.float("ORCHESTRA_WEBHOOK_TIMEOUT", default=5.0)
ORCHESTRA_WEBHOOK_MAX_ATTEMPTS = env.int("ORCHESTRA_WEBHOOK_MAX_ATTEMPTS", default=6)
# SSRF guard (inbox/callbacks.py): empty = any address but link-local, unspecified, multicast, reserved.
ORCHESTRA_WEBHOOK_ALLOWED_NETWORKS = env.list("ORCHESTRA_WEBHOOK_ALLOWED_NETWORKS", default=[])
ORCHESTRA_LONG_POLL_MAX_SECONDS = env.int("ORCHESTRA_LONG_POLL_MAX_SECONDS", default=60)
ORCHESTRA_LONG_POLL_RECHECK_SECONDS = env.float("ORCHESTRA_LONG_POLL_RECHECK_SECONDS",
                                                default=5.0 if REDIS_URL else 1.0)
# Incidents (incidents/notify.py): links in e-mails, and where they go. Without EMAIL_URL they are
# printed by the task worker (console backend); e.g. EMAIL_URL=smtp://user:pass@mail:587 in production.
ORCHESTRA_BASE_URL = env.str("ORCHESTRA_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
globals().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="orchestra@localhost")

ORCHESTRA_WEBHOOK_SECRET_GRACE_SECONDS = env.float("ORCHESTRA_WEBHOOK_SECRET_GRACE_SECONDS", default=7 * 24 * 3600)

# --- Operations: health, metrics, logs (docs/operations.md) ---------------------------------------------
ORCHESTRA_READYZ_TIMEOUT = env.float("ORCHESTRA_READYZ_TIMEOUT", default=1.0)
ORCHESTRA_METRICS_TOKEN = env.str("ORCHESTRA_METRICS_TOKEN", default="")
ORCHESTRA_METRICS_ALLOWED_NETWORKS = env.list("ORCHESTRA_METRICS_ALLOWED_NETWORKS", default=["127.0.0.1/32", "::1/128"])
# prometheus_client's multiprocess mode reads this variable when it is first imported (after settings).
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default=str(BASE_DIR / "var" / "prometheus"))
Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = PROMETHEUS_MULTIPROC_DIR

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "plain")
ORCHESTRA_REQUEST_LOG = env.str("ORCHESTRA_REQUEST_LOG", default="all")
LOGGING = logging_config(level=LOG_LEVEL, fmt=LOG_FORMAT, access_log=env.bool("UVICORN_ACCESS_LOG", default=False))

# Static files are served by WhiteNoise from the app server. In production (ORCHESTRA_STATIC_MANIFEST,
# default on in production mode) `collectstatic` writes each file under a name holding its content hash,
# gzip- and Brotli-compressed beside it, and WhiteNoise serves those names with a ten-year immutable
# Cache-Control (a changed file gets a new name). In development and tests files are found in place.
_static_storage = ("whitenoise.storage.CompressedManifestStaticFilesStorage"
                   if env.bool("ORCHESTRA_STATIC_MANIFEST", default=PRODUCTION)
                   else "whitenoise.storage.CompressedStaticFilesStorage")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": _static_storage},
}
WHITENOISE_USE_FINDERS = True

# Reviewers' notifications (inbox/notifications): attempts per e-mail or Slack message (with the webhook
# backoff), the digest period (minutes, from midnight UTC), the SLA fraction after which a proposal is
# "about to breach" (0.8: 80 % of its SLA elapsed), and the longest SLA looked at (seconds).
ORCHESTRA_NOTIFY_MAX_ATTEMPTS = env.int("ORCHESTRA_NOTIFY_MAX_ATTEMPTS", default=6)
ORCHESTRA_NOTIFY_DIGEST_MINUTES = env.int("ORCHESTRA_NOTIFY_DIGEST_MINUTES", default=60)
ORCHESTRA_NOTIFY_SLA_WARN_AT = env.float("ORCHESTRA_NOTIFY_SLA_WARN_AT", default=0.8)
ORCHESTRA_NOTIFY_SLA_LONGEST_SECONDS = env.int("ORCHESTRA_NOTIFY_SLA_LONGEST_SECONDS", default=7 * 24 * 3600)
