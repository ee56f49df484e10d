"""The ``eventguard`` command, run for real in subprocesses, the way an operator runs it.

Each test works in a fresh data directory (``EVENTGUARD_HOME``): SQLite inside it, or,
when the suite runs on PostgreSQL (``DATABASE_URL``), a fresh PostgreSQL database that
the test creates on the same server and drops afterwards. Nothing here touches the test
database of the other tests.
"""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.slow

EVENT = "ciie-2021"

# REFERENCE-SCENARIO.md, sections 1-3: the guarantee points and exhibitors.
REGISTRY_FIGURES = {
    "registry.in_venue_food_businesses": 66,
    "registry.group_meal_enterprises": 18,
    "registry.raw_material_suppliers": 41,
    "registry.reception_hotels": 5,
    "registry.coldchain_warehouses": 1,
    "registry.key_guarantee_units": 75,
    "registry.exhibitors": 141,
}

# REFERENCE-SCENARIO.md, section 3: special equipment, the figures of the equipment issue.
EQUIPMENT_FIGURES = {
    "equipment.key_units_inspected": 75,
    "equipment.risks_identified": 52,
    "equipment.risks_with_owner_and_measure": 52,
    "equipment.escalators": 208,
    "equipment.lifts": 216,
    "equipment.with_fixed_post": 424,
    "equipment.citywide_unit_inspections": 7147,
    "equipment.citywide_equipment_sets": 12399,
}
PATROLS_PER_DAY = ("equipment.min_patrols_per_elevator_day", 2)  # a rate: the scale keeps it

# REFERENCE-SCENARIO.md, section 1: the cold-chain closed loop.
COLDCHAIN_FIGURES = {
    "coldchain.exhibitors": 141,
    "coldchain.boxes_received": 3655,
    "coldchain.boxes_cleared_negative": 3655,
    "coldchain.boxes_positive": 0,
    "coldchain.boxes_entered_venue": 3655,
    "coldchain.boxes_entered_on_time": 3655,
}
FIRST_WAREHOUSE_ENTRY = ("coldchain.first_warehouse_entry", "2021-10-21")
ALL_ENTERED_BEFORE = ("coldchain.last_venue_entry", dt.date(2021, 11, 2))

COUNTED_FIGURES = {**REGISTRY_FIGURES, **EQUIPMENT_FIGURES, **COLDCHAIN_FIGURES}


def assert_reference_figures(figures: dict, scale: int) -> None:
    """The report's figures are the reference scenario's, counts multiplied by ``scale``."""
    values = {key: figures[key]["value"] for key in COUNTED_FIGURES}
    assert values == {key: scale * value for key, value in COUNTED_FIGURES.items()}
    key, rate = PATROLS_PER_DAY
    assert figures[key]["value"] == rate
    key, first = FIRST_WAREHOUSE_ENTRY
    assert figures[key]["value"] == first
    key, before = ALL_ENTERED_BEFORE
    assert dt.date.fromisoformat(figures[key]["value"]) < before


ON_POSTGRESQL = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _eventguard_command() -> str:
    here = Path(sys.executable).parent / "eventguard"
    found = str(here) if here.exists() else shutil.which("eventguard")
    if not found:
        pytest.fail("the eventguard command is not installed (pip install -e .)")
    return found


# ---------------------------------------------------------------- data directories


@dataclass
class Home:
    """A data directory, and the PostgreSQL database that goes with it (if any)."""

    path: Path
    database_url: str | None = None
    extra_env: dict = field(default_factory=dict)

    def env(self, **extra) -> dict:
        env = dict(os.environ)
        env.pop("DATABASE_URL", None)
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        env["EVENTGUARD_HOME"] = str(self.path)
        env["PYTHONUNBUFFERED"] = "1"
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
            env.setdefault("EVENTGUARD_SECRET_KEY", "cli-test-secret-key")
        env.update(self.extra_env)
        env.update(extra)
        return env

    def run(self, *args: str, check: bool = True, timeout: float = 900, **env):
        result = subprocess.run(
            [_eventguard_command(), *args],
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"eventguard {' '.join(args)} exited with {result.returncode}\n"
                f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}",
                pytrace=False,
            )
        return result

    def start(self, *args: str, **env) -> subprocess.Popen:
        return subprocess.Popen(
            [_eventguard_command(), *args],
            env=self.env(**env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )

    def sql(self, statement: str, params: tuple = ()) -> list[tuple]:
        """Raw SQL on the home's database, committed: the operator's (or attacker's) view."""
        if self.database_url:
            import psycopg

            with psycopg.connect(self.database_url, autocommit=True) as conn:
                cursor = conn.execute(statement.replace("?", "%s"), params)
                return cursor.fetchall() if cursor.description else []
        conn = sqlite3.connect(self.path / "eventguard.sqlite3", timeout=30)
        try:
            with conn:
                cursor = conn.execute(statement, params)
                return cursor.fetchall()
        finally:
            conn.close()

    def figures(self) -> dict:
        out = self.run("report", "figures", "--event", EVENT, "--format", "json").stdout
        return json.loads(out)

    def count(self, table: str) -> int:
        return self.sql(f"SELECT COUNT(*) FROM {table}")[0][0]


class Homes:
    """Makes fresh homes; drops the PostgreSQL databases it created."""

    def __init__(self, factory):
        self.factory = factory
        self.databases: list[str] = []

    def new(self, name: str) -> Home:
        path = self.factory.mktemp(name)
        if not ON_POSTGRESQL:
            return Home(path)
        database = f"eg_cli_{name.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
        self._admin(f'CREATE DATABASE "{database}"')
        self.databases.append(database)
        base = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
        return Home(path, base._replace(path=f"/{database}").geturl())

    def _admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(os.environ["DATABASE_URL"], dbname="postgres", autocommit=True) as c:
            c.execute(statement)

    def drop_all(self) -> None:
        for database in self.databases:
            self._admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture(scope="module")
def homes(tmp_path_factory):
    made = Homes(tmp_path_factory)
    yield made
    made.drop_all()


@pytest.fixture(scope="module")
def loaded(homes):
    """A home with the reference scenario at scale 1, and what its first load printed."""
    home = homes.new("scale1")
    home.run("migrate", "--noinput", "-v", "0")
    first = home.run("scenario", "load", EVENT)
    return home, first


# ---------------------------------------------------------------- a running server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str, *, method="GET", headers=None, data=None, opener=None):
    """(status, headers, body text) without raising on 4xx/5xx or following redirects."""
    request = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    opener = opener or urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def server(loaded):
    """``eventguard serve`` on a free port over the loaded home."""
    home, _ = loaded
    port = _free_port()
    process = home.start("serve", "--host", "127.0.0.1", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"eventguard serve exited early:\n{process.stdout.read()}")
            try:
                status, _h, _b = fetch(f"{base}/login/")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("eventguard serve did not answer /login/ within 60 s")
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---------------------------------------------------------------- scenario and figures


def test_scenario_load_gives_the_reference_figures(loaded):
    home, first = loaded
    assert first.returncode == 0
    report = home.figures()

    assert set(report) == {"event", "generated_at", "figures"}
    assert report["event"] == EVENT
    generated = dt.datetime.fromisoformat(report["generated_at"])
    assert generated.tzinfo is not None
    assert abs(dt.datetime.now(dt.UTC) - generated) < dt.timedelta(minutes=10)

    figures = report["figures"]
    assert_reference_figures(figures, scale=1)
    for key, figure in figures.items():
        assert set(figure) == {"value", "label", "records_url"}, key
        assert set(figure["label"]) == {"zh-Hans", "en"}, key
        assert figure["label"]["en"].strip() and figure["label"]["zh-Hans"].strip(), key
        assert figure["records_url"].startswith(f"/e/{EVENT}/"), key
    for key in REGISTRY_FIGURES:
        # The Chinese label is Chinese: the report is read in both languages.
        assert CJK.search(figures[key]["label"]["zh-Hans"]), figures[key]["label"]
        assert figures[key]["records_url"].startswith(f"/e/{EVENT}/units/?"), key


def test_a_second_load_changes_nothing(loaded):
    home, _ = loaded
    before = home.figures()["figures"]
    entries = home.count("core_auditentry")
    units = home.count("core_unit")

    again = home.run("scenario", "load", EVENT)

    assert again.returncode == 0
    assert home.count("core_auditentry") == entries
    assert home.count("core_unit") == units
    after = home.figures()["figures"]
    assert {k: f["value"] for k, f in after.items()} == {k: f["value"] for k, f in before.items()}


def test_another_scale_is_refused_on_a_loaded_database(loaded):
    home, _ = loaded
    refused = home.run("scenario", "load", EVENT, "--scale", "2", check=False)
    assert refused.returncode != 0
    assert "1.0" in refused.stderr  # names the scale the database was loaded with
    assert home.figures()["figures"]["registry.exhibitors"]["value"] == 141


def test_scale_two_doubles_every_count(homes):
    home = homes.new("scale2")
    home.run("migrate", "--noinput", "-v", "0")
    home.run("scenario", "load", EVENT, "--scale", "2")
    assert_reference_figures(home.figures()["figures"], scale=2)


# ---------------------------------------------------------------- audit chain


def test_audit_verify_names_an_altered_entry(loaded):
    home, _ = loaded
    intact = home.run("audit", "verify")
    assert intact.returncode == 0
    total = home.count("core_auditentry")
    assert str(total) in intact.stdout

    seq = total // 2
    (original,) = home.sql("SELECT object_repr FROM core_auditentry WHERE seq = ?", (seq,))[0]
    home.sql("UPDATE core_auditentry SET object_repr = ? WHERE seq = ?", (original + " *", seq))
    try:
        broken = home.run("audit", "verify", check=False)
        assert broken.returncode != 0
        message = broken.stderr + broken.stdout
        assert re.search(rf"#{seq}\b", message), message  # names the altered entry
        assert re.search(rf"\b{seq - 1}\b", message), message  # and the good ones before it
    finally:
        home.sql("UPDATE core_auditentry SET object_repr = ? WHERE seq = ?", (original, seq))
    assert home.run("audit", "verify").returncode == 0


def test_audit_verify_notices_a_removed_last_entry(homes):
    home = homes.new("removed")
    home.run("migrate", "--noinput", "-v", "0")
    home.run("scenario", "load", EVENT, "--only", "registry.event")
    total = home.count("core_auditentry")
    assert total > 0
    home.sql("DELETE FROM core_auditentry WHERE seq = ?", (total,))
    broken = home.run("audit", "verify", check=False)
    assert broken.returncode != 0
    assert re.search(rf"#{total}\b", broken.stderr + broken.stdout), broken.stderr


# ---------------------------------------------------------------- people and tokens


def test_token_create_prints_a_token_once_that_authenticates_api_me(loaded, server):
    home, _ = loaded
    username = f"{EVENT}-commander-01"
    created = home.run("token", "create", "--user", username, "--name", "cli-test")
    lines = created.stdout.split()
    assert len(lines) == 1, created.stdout
    token = lines[0]

    status, _h, body = fetch(f"{server}/api/me", headers={"Authorization": f"Bearer {token}"})
    assert status == 200, body
    me = json.loads(body)
    assert me["username"] == username
    assert [e["code"] for e in me["events"]] == [EVENT]

    # Printed once: the database keeps only a digest, and the listing shows a prefix.
    assert home.sql("SELECT COUNT(*) FROM core_apitoken WHERE digest = ?", (token,))[0][0] == 0
    listing = home.run("token", "list", "--user", username).stdout
    assert token not in listing and token[:12] in listing

    wrong = fetch(f"{server}/api/me", headers={"Authorization": f"Bearer {token}x"})
    assert wrong[0] == 401
    assert "detail" in json.loads(wrong[2])
    assert fetch(f"{server}/api/me")[0] == 401

    home.run("token", "revoke", token[:12])
    revoked = fetch(f"{server}/api/me", headers={"Authorization": f"Bearer {token}"})
    assert revoked[0] == 401


def test_many_requests_at_once_keep_the_servers_connections_within_its_pool(loaded, server):
    """PostgreSQL: the server serves each request in a thread of its own; its connections
    come from its pool (EVENTGUARD_DB_POOL, 20 by default), so 200 requests, 40 at a time,
    are all answered and leave no more connections open than the pool holds."""
    from concurrent.futures import ThreadPoolExecutor

    home, _ = loaded
    if not home.database_url:
        pytest.skip("a PostgreSQL server's connections (SQLite opens its file per request)")
    username = f"{EVENT}-commander-01"
    token = home.run("token", "create", "--user", username, "--name", "pool").stdout.split()[0]
    auth = {"Authorization": f"Bearer {token}"}
    with ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(lambda _: fetch(f"{server}/api/me", headers=auth), range(200)))
    assert [a[0] for a in answers] == [200] * 200, [a[2][:200] for a in answers if a[0] != 200]
    database = urllib.parse.urlsplit(home.database_url).path.lstrip("/")
    (connections,) = home.sql(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid()",
        (database,),
    )[0]
    assert connections <= 20


def test_token_create_for_an_unknown_user_fails(loaded):
    home, _ = loaded
    result = home.run("token", "create", "--user", "nobody-here", check=False)
    assert result.returncode != 0
    assert "nobody-here" in result.stderr
    assert result.stdout.strip() == ""


def _log_in(base: str, username: str, password: str, cookies=None) -> tuple[int, str]:
    """Log in through the login form; (status, redirect target). ``cookies`` (a CookieJar)
    keeps the session."""
    cookies = http.cookiejar.CookieJar() if cookies is None else cookies
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies), NoRedirect)
    status, _h, page = fetch(f"{base}/login/", opener=opener)
    assert status == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "username": username, "password": password}
    ).encode()
    status, headers, _b = fetch(
        f"{base}/login/",
        method="POST",
        data=data,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Referer": f"{base}/login/"},
        opener=opener,
    )
    return status, headers.get("Location", "")


def test_createsuperuser_noinput_makes_a_superuser_who_can_log_in(loaded, server):
    home, _ = loaded
    password = "Sup3r-" + uuid.uuid4().hex[:10]
    home.run(
        "createsuperuser",
        "--noinput",
        "--username",
        "cli-root",
        "--email",
        "root@example.org",
        DJANGO_SUPERUSER_PASSWORD=password,
    )
    rows = home.sql("SELECT is_superuser, is_staff FROM core_user WHERE username = 'cli-root'")
    assert rows and all(rows[0])

    status, location = _log_in(server, "cli-root", password)
    assert status == 302 and "/login/" not in location
    refused, _where = _log_in(server, "cli-root", password + "-wrong")
    assert refused == 200

    again = home.run(
        "createsuperuser",
        "--noinput",
        "--username",
        "cli-root",
        "--email",
        "x@example.org",
        check=False,
        DJANGO_SUPERUSER_PASSWORD=password,
    )
    assert again.returncode != 0


def test_open_feed_streams_keep_no_other_request_waiting(loaded, server):
    """Each server process works on two requests at a time (EVENTGUARD_SERVE_CONCURRENCY);
    a request still running after half a second gives its place up. The feed's event stream
    stays open 25 s: with three of them open, each has begun and a page is answered too."""
    home, _ = loaded
    password = "Str3am-" + uuid.uuid4().hex[:10]
    home.run(
        "createsuperuser",
        "--noinput",
        "--username",
        "stream-watcher",
        "--email",
        "watcher@example.org",
        DJANGO_SUPERUSER_PASSWORD=password,
    )
    cookies = http.cookiejar.CookieJar()
    assert _log_in(server, "stream-watcher", password, cookies=cookies)[0] == 302
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(cookies))
    streams = []
    try:
        for _ in range(3):
            # Well under the stream's 25 s: a stream let in only when another ends fails here.
            stream = opener.open(f"{server}/e/{EVENT}/feed/stream/", timeout=10)
            streams.append(stream)
            assert stream.headers["Content-Type"].startswith("text/event-stream")
            assert stream.readline() == b"retry: 1000\n"
        assert fetch(f"{server}/login/")[0] == 200
        for stream in streams:  # still open: each sends its next keep-alive
            assert b": keep-alive\n" in iter(stream.readline, b"")
    finally:
        for stream in streams:
            stream.close()


# ---------------------------------------------------------------- demo and serve

LOGIN_LINE = re.compile(r"^\s+(.+?)\s+(demo-[\w-]+)\s+(\S+)\s*$")


def _logins(output: str) -> list[tuple[str, str]]:
    return [(m.group(2), m.group(3)) for m in map(LOGIN_LINE.match, output.splitlines()) if m]


def test_demo_twice_prints_the_same_logins_and_loads_once(homes):
    home = homes.new("demo")
    first = home.run("demo", "--no-serve")
    logins = _logins(first.stdout)
    assert len(logins) == 8, first.stdout
    assert len({password for _u, password in logins}) == 8
    units = home.count("core_unit")
    entries = home.count("core_auditentry")
    assert home.figures()["figures"]["registry.exhibitors"]["value"] == 141

    second = home.run("demo", "--no-serve")

    assert _logins(second.stdout) == logins
    assert home.count("core_unit") == units
    assert home.count("core_auditentry") == entries
    assert "Loading the reference scenario" in first.stdout
    assert "Loading the reference scenario" not in second.stdout


def test_serve_answers_pages_static_files_and_api_docs(server):
    status, headers, page = fetch(f"{server}/login/")
    assert status == 200 and "text/html" in headers["Content-Type"]
    stylesheet = re.search(r'href="(/static/[^"]+\.css)"', page)
    assert stylesheet, "the login page links its stylesheet from /static/"
    status, headers, css = fetch(server + stylesheet.group(1))
    assert status == 200 and "text/css" in headers["Content-Type"] and css.strip()

    status, headers, docs = fetch(f"{server}/api/docs")
    assert status == 200 and "text/html" in headers["Content-Type"]
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', docs)
    assert assets, "the API docs page loads Swagger UI"
    for asset in assets:
        assert asset.startswith("/"), f"{asset} would load from another host"
        assert fetch(server + asset)[0] == 200, asset
    status, _h, spec = fetch(f"{server}/api/openapi.json")
    assert status == 200 and json.loads(spec)["info"]["title"] == "EventGuard API"

    assert fetch(f"{server}/e/{EVENT}/units/")[0] == 302  # pages need a login
    assert fetch(f"{server}/static/eventguard/no-such-file.css")[0] == 404
