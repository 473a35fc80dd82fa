"""Production mode (DATABASE_URL set, DEBUG off), started as an operator would, in a fresh process with
the documented environment (docs/operations.md): a missing SECRET_KEY stops the start with a clear
message; with the documented settings ``manage.py check --deploy`` finds nothing."""
import os
import subprocess
import sys

from django.conf import settings

# What the test run itself sets (orchestra_site.test_settings) or a developer may have: not an operator's.
DROPPED = {"SECRET_KEY", "DJANGO_SECRET_KEY", "SECRET_KEY_FALLBACKS", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
           "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "LOG_FORMAT", "DEBUG", "DJANGO_SETTINGS_MODULE",
           "REDIS_URL", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS"}
OPERATOR = {
    "SECRET_KEY": "g5u1-Jd9pS3mWQ0rXvZ8yT2kLb7NcE4hFa6oPiRs_UdVeYwMnBq",
    "ALLOWED_HOSTS": "orchestra.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://orchestra.example.com",
}


def manage(tmp_path, *args, **env):
    base = {k: v for k, v in os.environ.items() if k not in DROPPED}
    base["DATABASE_URL"] = f"sqlite:///{tmp_path}/db.sqlite3"
    return subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env={**base, **env},
                          capture_output=True, text=True, timeout=120)


def test_production_start_refuses_a_missing_secret_key(tmp_path):
    done = manage(tmp_path, "check", **{k: v for k, v in OPERATOR.items() if k != "SECRET_KEY"})
    assert done.returncode != 0
    assert "SECRET_KEY is not set" in done.stderr and "production mode" in done.stderr


def test_development_without_a_database_url_still_makes_its_own_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in DROPPED | {"DATABASE_URL"}}
    done = subprocess.run([sys.executable, "manage.py", "check"], cwd=settings.BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_check_deploy_is_clean_with_the_documented_settings(tmp_path):
    done = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **OPERATOR)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_production_defaults_are_the_safe_ones(tmp_path):
    code = ("from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
            "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.LOG_FORMAT, s.SECRET_KEY_FALLBACKS)")
    done = manage(tmp_path, "shell", "-c", code, SECRET_KEY_FALLBACKS="old-key-1,old-key-2", **OPERATOR)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "True True True 31536000 json ['old-key-1', 'old-key-2']"


def test_a_loopback_only_production_process_stays_on_plain_http(tmp_path):
    code = "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE)"
    done = manage(tmp_path, "shell", "-c", code, SECRET_KEY=OPERATOR["SECRET_KEY"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "False False"
