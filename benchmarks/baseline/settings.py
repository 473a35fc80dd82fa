"""Settings of the bare Django-ninja baseline (``benchmarks.baseline``): the database from
``DATABASE_URL`` with the pool settings Orchestra uses, nothing else."""
import environ

env = environ.Env()
SECRET_KEY = env.str("SECRET_KEY", default="baseline-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["benchmarks.baseline"]
MIDDLEWARE: list = []
ROOT_URLCONF = "benchmarks.baseline.urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASES = {"default": env.db("DATABASE_URL")}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {"pool": {"min_size": 2, "max_size": env.int("ORCHESTRA_DB_POOL_MAX", default=20),
                                                "timeout": 10}}
LOGGING = {"version": 1, "disable_existing_loggers": False}
