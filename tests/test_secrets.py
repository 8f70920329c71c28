"""A database password, in whatever form DATABASE_URL carries it, is never printed, logged,
recorded or put on a command line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from crawler import cli
from crawler.database import redact, scrub

ROOT = Path(__file__).resolve().parent.parent
MARKER = "Pw-7f3a9c-marker"  # a password no other text holds
ENCODED = "Pw%2F7f3a9c%40marker"  # percent-encoded "Pw/7f3a9c@marker"
DECODED = "Pw/7f3a9c@marker"


def with_password(database_url: str, form: str) -> str:
    """The test database's URL with a password in the given form (the server trusts it)."""
    url = make_url(database_url)
    plain = url.set(password=None).render_as_string(hide_password=False)
    join = "&" if "?" in plain else "?"
    if form == "userinfo":
        return url.set(password=MARKER).render_as_string(hide_password=False)
    if form == "encoded":
        return plain.replace(f"{url.username}@", f"{url.username}:{ENCODED}@", 1)
    if form == "query":
        return f"{plain}{join}password={MARKER}"
    if form == "both":
        return plain.replace(f"{url.username}@", f"{url.username}:{ENCODED}@", 1) + (
            f"{join}password={MARKER}&sslpassword={MARKER}x"
        )
    raise ValueError(form)


FORMS = ("userinfo", "encoded", "query", "both")


def assert_hidden(*texts: str) -> None:
    for found in texts:
        for secret in (MARKER, ENCODED, DECODED, quote(DECODED, safe="")):
            assert secret not in found, found


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://crawler:{MARKER}@db.example:5432/govcrawl",
        f"postgresql://crawler:{ENCODED}@db.example/govcrawl",
        f"postgresql://crawler@db.example/govcrawl?password={MARKER}",
        f"postgresql://crawler@db.example/govcrawl?sslmode=require&PassWord={MARKER}",
        f"postgresql://crawler@db.example/govcrawl?password={MARKER}&password={MARKER}2",
        f"postgresql://crawler@db.example/govcrawl?sslpassword={MARKER}",
        f"postgresql://crawler:{MARKER}@[db.example/govcrawl",  # unparsable
    ],
)
def test_redact_hides_every_form_of_password(url):
    shown = redact(url)
    assert_hidden(shown)
    assert "db.example" in shown or shown == "<unparsable database URL>"


def test_scrub_removes_the_password_from_a_message():
    url = f"postgresql://u:{ENCODED}@h/db?password={MARKER}"
    message = f'could not connect: password "{DECODED}" / {MARKER} / {ENCODED} rejected'
    assert_hidden(scrub(message, url))


@pytest.mark.parametrize("form", FORMS)
def test_migrate_prints_no_password(form, db, database_url, capsys):
    assert cli.main(["--database-url", with_password(database_url, form), "migrate"]) == 0
    out, err = capsys.readouterr()
    assert "is at the latest schema" in out and "***" in out
    assert_hidden(out, err)


@pytest.mark.parametrize("form", FORMS)
def test_a_connection_error_prints_no_password(form, capsys):
    url = with_password("postgresql://crawler@127.0.0.1:9/nowhere", form)
    assert cli.main(["--database-url", url, "migrate"]) == 2
    out, err = capsys.readouterr()
    assert err.startswith("govcrawl: cannot connect to postgresql+psycopg2://crawler")
    assert_hidden(out, err)


def govcrawl(*args: str, database_url: str, home: Path, **kw) -> subprocess.Popen[str]:
    env = {**os.environ, "GOVCRAWL_HOME": str(home), "DATABASE_URL": database_url}
    return subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def command_lines() -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                found.append(Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace"))
            except OSError:
                pass
    return found


def test_sql_gives_psql_the_password_in_its_environment_not_its_command_line(
    db, database_url, tmp_path
):
    url = with_password(database_url, "both")
    sql = govcrawl("sql", "SELECT pg_sleep(2), 'done' AS state", database_url=url, home=tmp_path)
    seen = []
    while sql.poll() is None:
        seen += [line for line in command_lines() if "pg_sleep" in line]
        time.sleep(0.05)
    out, err = sql.communicate()
    assert sql.returncode == 0, err
    assert "done" in out
    assert any("psql" in line for line in seen), "psql was never seen running"
    assert_hidden(out, err, *seen)
    public, env = cli.psql_connection(make_url(url))
    assert_hidden(public)
    assert env["PGPASSWORD"] in (MARKER, DECODED)


def test_demo_prints_logs_and_records_no_password(db, database_url, tmp_path):
    demo = govcrawl("demo", database_url=with_password(database_url, "both"), home=tmp_path)
    out, err = demo.communicate(timeout=240)
    assert demo.returncode == 0, err[-3000:]
    assert "articles of site 'sample' in postgresql+psycopg2://" in out
    assert "[crawler.runs] INFO: crawl run" in err  # the log went to stderr, and was read
    assert_hidden(out, err)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert_hidden(path.read_text(encoding="utf-8", errors="replace"))
    with db.connect() as conn:
        record = conn.execute(text("SELECT row_to_json(r)::text FROM crawl_runs r")).scalar_one()
    assert_hidden(record)
