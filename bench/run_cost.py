"""The CPU cost of one no-change crawl run: a cold process against a child of a warm fork server.

    .venv/bin/python -m bench.run_cost [--runs 5] [--no-breakdown]

The sample portal is served on 127.0.0.1 and crawled once into the embedded PostgreSQL (kept
running by this process, as the scheduler daemon keeps it, and passed to every crawl as
DATABASE_URL, as the daemon does); then each no-change run (the same unchanged portal, crawled
again) is timed ``--runs`` times

- cold: ``python -m crawler.cli crawl PROFILE --log-file F``, a new interpreter, and
- warm: a child forked from a ``forkserver`` preloaded with ``crawler.warm``, running
  ``crawler.warm.child_main(["crawl", PROFILE, "--log-file", F])``.

CPU is user+sys: of the process from ``os.wait4`` (cold), of the child from its own
``getrusage`` at the end plus the fork server's CPU while it forked and reaped it and this
process's main thread while it started and joined it (warm). Wall is start to exit seen from
here; peak RSS is the child's ``ru_maxrss`` (a forked child counts the pages it shares with the
fork server). Alternating cold and warm runs spreads any drift of the machine over both.

The breakdown runs one no-change crawl in a process that times each phase with
``time.process_time()`` (all threads): cold, and again in a fork-server child (warm).
"""

from __future__ import annotations

import argparse
import atexit
import inspect
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PHASES = (
    ("interpreter", "interpreter start (python -c pass)"),
    ("imports", "import crawler.cli"),
    ("command", "the command's parser (imports its subcommands)"),
    ("arguments", "read the settings (-s, --log-file)"),
    ("database", "engine, first connection"),
    ("migrations", "the migrations check"),
    ("lock", "the site lock, the run's log file"),
    ("startup", "Scrapy crawler, reactor, components, to spider_opened"),
    ("record_open", "run record opened (spider_opened)"),
    ("spider", "the spider's work (state, requests, parsing, storing)"),
    ("monitors", "Spidermon monitors at close"),
    ("record_close", "run record, issues written at close"),
    ("shutdown", "engine and reactor stop, run status read"),
    ("rest", "the rest: main's other imports, summary, exit"),
)


# --- in the measured processes -----------------------------------------------------------


def _cpu() -> float:
    return time.process_time()


def timed_main(argv: list[str]) -> tuple[int, dict[str, float]]:
    """``govcrawl <argv>`` in this process, with the CPU of each phase (see PHASES)."""
    start = _cpu()
    marks: dict[str, float] = {}

    from crawler import cli

    marks["imports"] = _cpu() - start
    from scrapy import signals
    from spidermon.contrib.scrapy.extensions import Spidermon

    from crawler import database, runs

    clock: dict[str, float] = {}

    def wrap(owner: Any, name: str, phase: str) -> None:
        original = getattr(owner, name)
        named = inspect.signature(original).parameters
        takes_any = any(p.kind is p.VAR_KEYWORD for p in named.values())

        def timed(*args: Any, **kwargs: Any) -> Any:
            if not takes_any:  # a signal handler is sent every argument of the signal
                kwargs = {k: v for k, v in kwargs.items() if k in named}
            begin = _cpu()
            try:
                return original(*args, **kwargs)
            finally:
                marks[phase] = marks.get(phase, 0.0) + _cpu() - begin

        setattr(owner, name, timed)

    wrap(cli, "build_parser", "command")
    wrap(cli, "_settings", "arguments")
    wrap(database, "migrate", "migrations")
    wrap(cli, "_database", "database")
    wrap(cli, "_crawl_lock", "lock")
    wrap(cli, "_new_run_log", "lock")
    wrap(Spidermon, "spider_closed", "monitors")
    wrap(runs.CrawlRunRecorder, "spider_opened", "record_open")
    wrap(runs.CrawlRunRecorder, "spider_closed", "record_close")
    original_run = cli.run_crawl

    def run_crawl(settings: Any, spider_args: dict[str, Any]) -> Any:
        from scrapy.crawler import Crawler

        original_crawl = Crawler.crawl

        def crawl(self: Any, *args: Any, **kwargs: Any) -> Any:
            def opened(spider: Any) -> None:
                clock["opened"] = _cpu()

            def idle(spider: Any) -> None:
                clock["idle"] = _cpu()  # the last idle: the spider's work is done

            self.signals.connect(opened, signals.spider_opened, weak=False)
            self.signals.connect(idle, signals.spider_idle, weak=False)
            return original_crawl(self, *args, **kwargs)

        Crawler.crawl = crawl  # type: ignore[method-assign]
        clock["run"] = _cpu()
        result = original_run(settings, spider_args)
        clock["end"] = _cpu()
        return result

    cli.run_crawl = run_crawl  # type: ignore[assignment]
    code = cli.main(argv)
    total = _cpu() - start
    marks["database"] = marks.get("database", 0.0) - marks.get("migrations", 0.0)
    if {"run", "opened", "idle", "end"} <= clock.keys():
        # the handlers of spider_opened run after this clock's (connected first), in "spider"
        marks["startup"] = clock["opened"] - clock["run"]
        marks["spider"] = clock["idle"] - clock["opened"] - marks.get("record_open", 0.0)
        marks["shutdown"] = (
            clock["end"] - clock["idle"] - marks.get("monitors", 0.0) - marks.get("record_close", 0)
        )
    marks["rest"] = total - sum(marks.values())
    return code, marks


def breakdown_child(argv: list[str], conn: Any) -> None:
    """Fork-server child: the timed crawl, its phases sent back on ``conn``."""
    from crawler import warm

    warm.atexit._clear()  # as crawl_in_child does
    warm._fresh_settings()
    code, marks = timed_main(argv)
    conn.send((code, marks, _own_usage()))
    conn.close()
    warm.atexit._run_exitfuncs()


def warm_child(argv: list[str], conn: Any) -> None:
    """Fork-server child: ``crawl_in_child``, then its own CPU and peak RSS sent on ``conn``."""
    from crawler.warm import crawl_in_child

    code = crawl_in_child(argv)
    conn.send((code, _own_usage()))
    conn.close()
    raise SystemExit(code)


def _own_usage() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    return cpu, max(me.ru_maxrss, kids.ru_maxrss) / 1024


# --- the measuring process ---------------------------------------------------------------


def _proc_cpu(pid: int) -> float:
    """user+sys CPU-s of a live process, from /proc (the fork server's share)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cold_run(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    started = time.monotonic()
    child = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)  # fmt: skip
    assert child.stderr is not None
    err = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    if child.returncode not in (0, 3):
        raise SystemExit(f"a cold run failed ({child.returncode}): {err.decode()[-2000:]}")
    return {"cpu": usage.ru_utime + usage.ru_stime, "wall": wall,
            "rss": usage.ru_maxrss / 1024, "code": child.returncode}  # fmt: skip


def warm_run(ctx: Any, argv: list[str]) -> dict[str, float]:
    from multiprocessing import forkserver

    server_pid = forkserver._forkserver._forkserver_pid
    before = _proc_cpu(server_pid) if server_pid else 0.0
    mine = time.thread_time()
    started = time.monotonic()
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=warm_child, args=(argv, send))
    child.start()
    send.close()
    code, (cpu, rss) = receive.recv()
    child.join()
    wall = time.monotonic() - started
    server_pid = forkserver._forkserver._forkserver_pid
    share = _proc_cpu(server_pid) - before if before else 0.0
    share += time.thread_time() - mine
    if child.exitcode != code or code not in (0, 3):
        raise SystemExit(f"a warm run failed: returned {code}, exit code {child.exitcode}")
    return {"cpu": cpu + share, "child": cpu, "share": share, "wall": wall, "rss": rss,
            "code": code}  # fmt: skip


def breakdown_cold(argv: list[str], env: dict[str, str]) -> dict[str, float]:
    code = (
        "import json, sys; from bench.run_cost import timed_main; "
        "c, m = timed_main(sys.argv[1:]); print(json.dumps(m))"
    )
    child = subprocess.Popen([sys.executable, "-c", code, *argv], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # fmt: skip
    assert child.stdout is not None
    marks = json.loads(child.stdout.read().decode().strip().splitlines()[-1])
    _, _, usage = os.wait4(child.pid, 0)
    total = usage.ru_utime + usage.ru_stime
    interpreter = cold_run([sys.executable, "-c", "pass"], env)["cpu"]
    marks["interpreter"] = interpreter
    marks["rest"] += total - sum(marks.values())  # also the import of this module, and exit
    return marks


def breakdown_warm(ctx: Any, argv: list[str]) -> dict[str, float]:
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=breakdown_child, args=(argv, send))
    child.start()
    send.close()
    _, marks, (total, _) = receive.recv()
    child.join()
    marks["interpreter"] = 0.0
    marks["rest"] += total - sum(marks.values())  # the child's start: the target's unpickling
    return marks


def import_times(argv: list[str], env: dict[str, str]) -> list[tuple[str, float]]:
    """The top-level packages a cold crawl imports, by their own import time (-X importtime)."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "crawler.cli", *argv],
                         cwd=ROOT, env=env, capture_output=True, text=True)  # fmt: skip
    by_package: dict[str, float] = {}
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _, name = line[len("import time:") :].split("|", 2)
        top = name.strip().split(".")[0]
        by_package[top] = by_package.get(top, 0.0) + int(own) / 1e6
    return sorted(by_package.items(), key=lambda kv: -kv[1])


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):7.3f}  {min(values):6.3f}–{max(values):<6.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-breakdown", action="store_true")
    args = parser.parse_args(argv)

    import multiprocessing

    from crawler.database import open_database
    from sample_portal.generator import generate_portal
    from sample_portal.profile import write_profile
    from sample_portal.server import SamplePortalServer

    folder = Path(tempfile.mkdtemp(prefix="govcrawl-run-cost-"))
    # removed at exit, after the embedded server stops (exit hooks run last registered first)
    atexit.register(shutil.rmtree, folder, True)
    home = folder / "home"
    os.environ.pop("DATABASE_URL", None)
    os.environ["GOVCRAWL_HOME"] = str(home)
    engine = open_database(None, home)  # holds the embedded server for the whole benchmark
    url = engine.url.render_as_string(hide_password=False)
    os.environ["DATABASE_URL"] = url  # as the daemon gives its crawls
    env = {**os.environ}
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["crawler.warm"])
    with SamplePortalServer(generate_portal()) as server:
        profile = write_profile(server.portal, server.base_url, folder / "sample.toml")

        def crawl_argv(n: str) -> list[str]:
            return ["crawl", str(profile), "--log-file", str(folder / f"{n}.log")]

        first = cold_run([sys.executable, "-m", "crawler.cli", *crawl_argv("first")], env)
        print(f"first run (stores the portal): {first['cpu']:.2f} CPU-s, exit {first['code']}")
        warm_run(ctx, crawl_argv("warmup"))  # starts the fork server
        cold: list[dict[str, float]] = []
        hot: list[dict[str, float]] = []
        for n in range(args.runs):
            cmd = [sys.executable, "-m", "crawler.cli", *crawl_argv(f"cold{n}")]
            cold.append(cold_run(cmd, env))
            hot.append(warm_run(ctx, crawl_argv(f"warm{n}")))
        codes = {r["code"] for r in cold + hot}
        print(f"\n{args.runs} no-change runs each (exit codes {sorted(codes)})\n")
        print(f"{'':28}{'median':>7}  {'min–max':<13}")
        for label, rows in (("cold", cold), ("warm", hot)):
            print(f"{label} CPU-s (user+sys)         {spread([r['cpu'] for r in rows])}")
            if label == "warm":
                print(f"  of it the child           {spread([r['child'] for r in rows])}")
                print(f"  fork server + parent      {spread([r['share'] for r in rows])}")
            print(f"{label} wall s                   {spread([r['wall'] for r in rows])}")
            print(f"{label} peak RSS MB              {spread([r['rss'] for r in rows])}")
        if not args.no_breakdown:
            cold_marks = breakdown_cold(crawl_argv("bcold"), env)
            warm_marks = breakdown_warm(ctx, crawl_argv("bwarm"))
            print(f"\nbreakdown of one no-change run, CPU-s{'cold':>30}{'warm':>8}")
            for key, label in PHASES:
                print(f"  {label:<55}{cold_marks.get(key, 0):6.3f}  {warm_marks.get(key, 0):6.3f}")
            total_cold, total_warm = sum(cold_marks.values()), sum(warm_marks.values())
            print(f"  {'total':<55}{total_cold:6.3f}  {total_warm:6.3f}")
            print("\nimport time of a cold run by package, s (-X importtime, own time, top 12):")
            packages = import_times(crawl_argv("imports"), env)
            print(f"  all: {sum(t for _, t in packages):.3f}")
            for name, seconds in packages[:12]:
                print(f"  {name:<28}{seconds:6.3f}")
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
