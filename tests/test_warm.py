"""Crawls forked from a warm fork server (crawler/warm.py), and the one-SELECT migrations check.

The fork server runs in a process of its own (a small worker, ``drive`` below), as the
scheduler's would: a fork server is one per process and keeps the environment it started with.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text

from crawler.models import Article, CrawlRun

ROOT = Path(__file__).resolve().parent.parent
TRUTH = json.loads((ROOT / "sample_portal" / "ground_truth.json").read_text(encoding="utf-8"))
CRASH = 70  # the exit code of the child that dies in the middle of its crawl


def crash_at_close(argv: list[str]) -> None:
    """A fork-server child whose crawl dies (``os._exit``) as the spider closes: its run is
    recorded as running, its connections and reactor are open, nothing is cleaned up."""
    from crawler import runs, warm

    def die(*args: Any, **kwargs: Any) -> None:
        os._exit(CRASH)

    runs.CrawlRunRecorder.spider_closed = die  # type: ignore[method-assign]
    warm.child_main(argv)


def with_bad_setting(argv: list[str]) -> None:
    """A fork-server child whose environment says GOVCRAWL_LOG_KEEP_RUNS=many: the crawl must
    read its settings afresh, as a new process would, and refuse it."""
    from crawler import warm

    os.environ["GOVCRAWL_LOG_KEEP_RUNS"] = "many"
    warm.child_main(argv)


def drive(plan: list[tuple[str, list[str]]]) -> None:
    """A worker: each step of ``plan`` a child of one warm fork server (``warm`` or ``crash``)
    or a ``cold`` command; prints each step's exit code and the fork server's pid after it."""
    import multiprocessing
    from multiprocessing import forkserver

    from crawler import warm

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["crawler.warm"])
    results = []
    for kind, argv in plan:
        if kind.startswith("cold"):
            cmd = [sys.executable, "-m", "crawler.cli", *argv]
            env = {**os.environ, "GOVCRAWL_LOG_KEEP_RUNS": "many"} if kind == "cold-bad" else None
            code = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True).returncode
        else:
            target = {"warm": warm.child_main, "crash": crash_at_close,
                      "warm-bad": with_bad_setting}[kind]  # fmt: skip
            child = ctx.Process(target=target, args=(argv,))
            child.start()
            child.join(120)
            code = child.exitcode
        results.append(
            {"kind": kind, "code": code, "server": forkserver._forkserver._forkserver_pid}
        )
    print(json.dumps(results))


def run_worker(plan: list[tuple[str, list[str]]], env: dict[str, str]) -> list[dict[str, Any]]:
    code = "import json, sys; from tests.test_warm import drive; drive(json.loads(sys.argv[1]))"
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(plan)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_warm_preloads_and_leaves_no_reactor_thread_or_connection():
    check = (
        "import sys, threading; from crawler import warm, database; "
        "missing = [m for m in warm.PRELOAD if m not in sys.modules]; "
        "print(missing, 'twisted.internet.reactor' in sys.modules, threading.active_count(), "
        "len(database._engines), 'crawler.spiders.portal' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["[]", "False", "1", "0", "True"]


def test_forkserver_children_crawl_completely_exit_as_the_command_and_survive_a_crash(
    db, sample_server, sample_profile, database_url, tmp_path
):
    env = {**os.environ, "DATABASE_URL": database_url, "GOVCRAWL_HOME": str(tmp_path / "home")}

    def crawl(name: str) -> list[str]:
        return ["crawl", str(sample_profile), "--log-file", str(tmp_path / f"{name}.log")]

    results = run_worker(
        [
            ("warm", crawl("first")),  # the first run: every article of the portal
            ("crash", crawl("crash")),  # a no-change run that dies as it closes
            ("warm", crawl("again")),  # the next child, from the same fork server
            ("cold", crawl("cold")),  # the command, on the same unchanged portal
            ("warm", crawl("warm")),  # and a child again, to compare with it
            ("warm", ["crawl", "no-such-site"]),
            ("cold", ["crawl", "no-such-site"]),
            ("warm-bad", crawl("bad")),  # each child reads the environment's settings afresh
            ("cold-bad", crawl("bad")),
            ("warm", ["crawl", "--max-pages", "0", str(sample_profile)]),
            ("cold", ["crawl", "--max-pages", "0", str(sample_profile)]),
        ],
        env,
    )
    codes = [r["code"] for r in results]
    # degraded (3): the sample's two broken channels log errors; 2: a profile that is not there
    assert codes == [3, CRASH, 3, 3, 3, 2, 2, 2, 2, 2, 2]
    assert len({r["server"] for r in results}) == 1  # one fork server throughout

    with db.connect() as conn:
        stored = set(conn.execute(select(Article.platform_id)).scalars())
        runs = conn.execute(
            select(CrawlRun.id, CrawlRun.status, CrawlRun.finish_reason, CrawlRun.stats)
            .order_by(CrawlRun.id)
        ).all()  # fmt: skip
        articles = conn.execute(select(func.count()).select_from(Article)).scalar_one()
    assert stored == {a["id"] for a in TRUTH["articles"]}
    assert articles == len(TRUTH["articles"])  # the later runs added nothing
    first, crashed, again, cold, warm = runs
    assert first.status == "degraded" and first.finish_reason == "finished"
    assert first.stats["govcrawl/items/new"] == len(TRUTH["articles"])
    assert first.stats["govcrawl/listing/bad_reply"] == 2
    # the crashed child's run is closed by the next run of the site, as after a SIGKILL
    assert crashed.status == "failed" and crashed.finish_reason.startswith("process ")
    assert crashed.finish_reason.endswith(" vanished")
    for run in (again, cold, warm):
        assert run.status == "degraded" and run.stats.get("govcrawl/items/new", 0) == 0
        assert run.stats["govcrawl/listing/stopped_early"] == 3
    assert warm.stats["downloader/request_count"] == cold.stats["downloader/request_count"]
    # the same log, line for line, but for times, counts of bytes and ids, and its own name
    assert log_lines(tmp_path / "warm.log") == log_lines(tmp_path / "cold.log")


def log_lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8").replace(path.stem, "NAME")
    return sorted(re.sub(r"\d+", "N", line) for line in text.splitlines())


def test_head_revisions_are_alembics_heads():
    from alembic.script import ScriptDirectory

    from crawler.database import alembic_config, head_revisions

    assert head_revisions() == set(ScriptDirectory.from_config(alembic_config()).get_heads())


def test_head_revisions_unknown_when_a_migration_does_not_say_them_plainly(tmp_path, monkeypatch):
    from crawler import database

    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "0001_a.py").write_text('revision = "0001"\ndown_revision = None\n')
    (versions / "0002_b.py").write_text('revision: str = "0002"\ndown_revision = "0001"\n')
    monkeypatch.setattr(database, "MIGRATIONS_DIR", tmp_path)
    assert database.head_revisions() == {"0002"}
    # each of these leaves it to Alembic (which says what is wrong, or reads what this cannot)
    for n, text_ in enumerate(
        (
            'revision = "0003"\ndown_revision = PREVIOUS\n',  # not a literal
            'revision = "0003"\ndown_revision = "0000"\n',  # a parent that is not there
            'revision = "0002"\ndown_revision = "0001"\n',  # a revision twice
            'revision = "0003"\n',  # no down_revision
            "revision = (\n",  # not Python
        )
    ):
        (versions / f"0003_c{n}.py").write_text(text_)
        assert database.head_revisions() is None, text_
        (versions / f"0003_c{n}.py").unlink()
    (versions / "0003_c.py").write_text('revision = "0003"\ndown_revision = ("0001", "0002")\n')
    assert database.head_revisions() == {"0003"}  # a merge


def test_migrate_checks_with_one_select_yet_upgrades_a_database_behind(database_url):
    from alembic import command

    from crawler.database import alembic_config, at_heads, head_revisions, migrate

    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS warm_check CASCADE"))
        conn.execute(text("CREATE SCHEMA warm_check"))
    scoped = create_engine(database_url, connect_args={"options": "-csearch_path=warm_check"})
    version = text("SELECT version_num FROM alembic_version")
    try:
        assert not at_heads(scoped)  # a new database: no alembic_version
        migrate(scoped)
        assert at_heads(scoped)
        cfg = alembic_config()
        with scoped.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "-1")
        with scoped.connect() as conn:
            assert set(conn.execute(version).scalars()) != head_revisions()
        assert not at_heads(scoped)
        migrate(scoped)  # one revision behind: Alembic brings it up
        with scoped.connect() as conn:
            assert set(conn.execute(version).scalars()) == head_revisions()
    finally:
        scoped.dispose()
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS warm_check CASCADE"))
        engine.dispose()
