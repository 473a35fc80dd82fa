"""Static files in production: ``collectstatic`` (WhiteNoise's compressed manifest storage) names each
file by its content hash, pages link those names, and WhiteNoise serves them compressed with a
long-lived immutable Cache-Control; the favicon is linked from every page."""
import json
import os
import subprocess
import sys

from django.conf import settings

from tests.test_production_settings import DROPPED, OPERATOR

CLIENT = """
import json
from django.test import Client
c = Client()
page = c.get('/accounts/login/', secure=True).content.decode()
import re
css = re.search(r'href="(/static/orchestra[.][0-9a-f]{12}[.]css)"', page).group(1)
icon = re.search(r'rel="icon" href="(/static/favicon[.][0-9a-f]{12}[.]svg)"', page).group(1)
r = c.get(css, secure=True, HTTP_ACCEPT_ENCODING='gzip')
print(json.dumps({'css': css, 'icon': icon, 'status': r.status_code, 'cache': r['Cache-Control'],
                  'encoding': r.get('Content-Encoding'), 'icon_status': c.get(icon, secure=True).status_code}))
"""


def test_collected_files_are_hashed_compressed_and_cached_for_long(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in DROPPED | {"ORCHESTRA_STATIC_MANIFEST"}}
    env.update(OPERATOR, DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3", STATIC_ROOT=str(tmp_path / "static"),
               ALLOWED_HOSTS="testserver")

    def manage(*args):
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    manage("collectstatic", "--noinput", "-v", "0")
    assert (tmp_path / "static" / "staticfiles.json").exists()
    assert list((tmp_path / "static").glob("orchestra.*.css.gz"))
    answer = json.loads(manage("shell", "-c", CLIENT).strip().splitlines()[-1])
    assert answer["status"] == 200 and answer["icon_status"] == 200
    assert answer["encoding"] == "gzip" or answer["encoding"] == "br"
    assert "immutable" in answer["cache"] and "max-age=315360000" in answer["cache"]


def test_the_favicon_is_found_where_browsers_look(client):
    r = client.get("/favicon.ico")
    assert r.status_code == 301 and r["Location"] == "/static/favicon.svg"
    assert client.get(r["Location"]).status_code == 200
