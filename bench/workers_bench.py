"""Benchmark: one cycle over many small sample sites, run by 1 and by 2 workers, with each crawl
a fresh interpreter (``cold``, GOVCRAWL_WORKER_WARM=0) or forked from the warm fork server
(``warm``, the default).

    python -m bench.workers_bench [--sites 200] [--workers 1 2] [--rounds 2] [--concurrency 2]

The sites are served by a separate process on 127.0.0.1 (each its own port, a small portal of
13 articles). Every site is crawled once first, so the measured cycles are no-change
incremental runs, the scheduled work of a quiet day. A cycle: the workers are started and
registered, one job per site is deferred at once, and the cycle ends when every run is
recorded. Measured per cycle: wall time; CPU-seconds (user + system) of the worker processes
and everything they started, read from /proc (a process's own time plus that of the children it
reaped: the fork server reaps warm crawls, a worker its cold ones); the peak RSS of the worker
process and of its fork server (VmHWM) and of the largest crawl (Scrapy's memusage/max).
Reported: the median of ``--rounds`` cycles and the spread (lowest–highest), and the ratio
cold/warm. Uses DATABASE_URL (a scratch database: its job queue is emptied), else the embedded
PostgreSQL of a temporary GOVCRAWL_HOME.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TICK = os.sysconf("SC_CLK_TCK")


def serve_sites(count: int, folder: str) -> None:
    """Serve ``count`` small portals, write their profiles into ``folder``, then wait."""
    from sample_portal.generator import generate_portal
    from sample_portal.profile import write_profile
    from sample_portal.server import SamplePortalServer

    for i in range(count):
        server = SamplePortalServer(generate_portal(seed=i, per_channel=(6, 4, 3), specials=False))
        server.__enter__()
        write_profile(server.portal, server.base_url, Path(folder) / f"b{i:03d}.toml", f"b{i:03d}")
    print("ready", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})


def _stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text.rsplit(")", 1)[1].split()


def tree_cpu(pid: int) -> float:
    """CPU-s of ``pid`` and of its direct children, each with the children it reaped."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = _stat(int(proc.name))
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(proc.name) == pid or int(fields[1]) == pid:
            total += sum(int(f) for f in fields[11:15]) / TICK  # utime stime cutime cstime
    return total


def peak_rss(pid: int) -> dict[str, float]:
    """VmHWM (MiB) of the worker and of each of its children (its fork server)."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if int(proc.name) != pid and int(_stat(int(proc.name))[1]) != pid:
                continue
            status = Path(f"/proc/{proc.name}/status").read_text()
            cmd = Path(f"/proc/{proc.name}/cmdline").read_text().replace("\0", " ")
        except (FileNotFoundError, ProcessLookupError):
            continue
        kind = (
            "worker"
            if int(proc.name) == pid
            else ("forkserver" if "forkserver" in cmd else "other")
        )
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                found[kind] = max(found.get(kind, 0.0), int(line.split()[1]) / 1024)
    return found


def start_workers(n: int, warm: bool, concurrency: int, database_url: str, home: Path) -> list:
    env = {**os.environ, "DATABASE_URL": database_url, "GOVCRAWL_HOME": str(home),
           "GOVCRAWL_WORKER_WARM": "1" if warm else "0", "GOVCRAWL_LOG_LEVEL": "WARNING"}  # fmt: skip
    return [
        subprocess.Popen(
            [sys.executable, "-m", "crawler.cli", "worker", "--concurrency", str(concurrency)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(n)
    ]


def cycle(engine, profiles: list[Path], workers: list, database_url: str) -> dict:  # type: ignore[no-untyped-def]
    """Defer one job per site and wait for every run; the cycle's figures."""
    from sqlalchemy import text

    from crawler.jobs import QueueRunner

    with engine.connect() as conn:
        while conn.execute(text("SELECT count(*) FROM procrastinate_workers")).scalar() < len(
            workers
        ):
            time.sleep(0.2)
            conn.rollback()
        last = conn.execute(text("SELECT coalesce(max(id), 0) FROM crawl_runs")).scalar()
    time.sleep(1.0)  # the workers' own start-up is not the cycle's
    cpu_before = sum(tree_cpu(w.pid) for w in workers)
    queue = QueueRunner(engine, database_url)
    started = time.perf_counter()
    for profile in profiles:
        queue.run(profile.stem, str(profile), trigger="bench")
    queue.close()
    with engine.connect() as conn:
        while True:
            done = conn.execute(
                text(
                    "SELECT count(*) FROM crawl_runs WHERE id > :last AND finished_at IS NOT NULL"
                ),
                {"last": last},
            ).scalar()
            conn.rollback()
            if done >= len(profiles):
                break
            time.sleep(0.2)
        wall = time.perf_counter() - started
        cpu = sum(tree_cpu(w.pid) for w in workers) - cpu_before
        statuses = dict(conn.execute(text(
            "SELECT status, count(*) FROM crawl_runs WHERE id > :last GROUP BY status"),
            {"last": last}).all())  # fmt: skip
        crawl_mib = conn.execute(text(
            "SELECT max((stats->>'memusage/max')::bigint) / 1048576.0 FROM crawl_runs "
            "WHERE id > :last"), {"last": last}).scalar()  # fmt: skip
    rss = [peak_rss(w.pid) for w in workers]
    return {"wall": wall, "cpu": cpu, "per_run": cpu / len(profiles), "statuses": statuses,
            "worker_mib": max(r.get("worker", 0) for r in rss),
            "forkserver_mib": max(r.get("forkserver", 0) for r in rss),
            "crawl_mib": float(crawl_mib or 0)}  # fmt: skip


def stop(workers: list) -> None:
    for w in workers:
        w.send_signal(signal.SIGTERM)
    for w in workers:
        w.wait(timeout=120)


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()

    from sqlalchemy import create_engine, text

    from crawler.database import migrate, resolve_database_url

    scratch = Path(tempfile.mkdtemp(prefix="govcrawl-workers-bench-"))
    home = scratch / "home"
    database_url = resolve_database_url(os.environ.get("DATABASE_URL"), home)
    engine = create_engine(database_url)
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM articles WHERE site LIKE 'b___'"))
        conn.execute(text("DELETE FROM channel_states WHERE site LIKE 'b___'"))
        conn.execute(text("DELETE FROM channel_entries WHERE site LIKE 'b___'"))
        # the job queue must be this bench's alone: give DATABASE_URL a scratch database
        conn.execute(text("TRUNCATE procrastinate_jobs, procrastinate_workers CASCADE"))
    folder = scratch / "profiles"
    folder.mkdir()
    server = subprocess.Popen(
        [sys.executable, "-c", f"from bench.workers_bench import serve_sites; "
         f"serve_sites({args.sites}, {str(folder)!r})"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert server.stdout is not None and server.stdout.readline().strip() == "ready"
    profiles = sorted(folder.glob("*.toml"))
    print(f"{len(profiles)} sites on 127.0.0.1, {os.cpu_count()} cores; database "
          f"{'DATABASE_URL' if os.environ.get('DATABASE_URL') else 'embedded'}", flush=True)  # fmt: skip
    try:
        workers = start_workers(2, True, args.concurrency, database_url, home)
        first = cycle(engine, profiles, workers, database_url)
        stop(workers)
        print(f"first crawl of every site (2 warm workers): {first['wall']:.1f} s, "
              f"{first['per_run']:.2f} CPU-s per site, {first['statuses']}", flush=True)  # fmt: skip
        results: dict[tuple[str, int], list[dict]] = {}
        for _ in range(args.rounds):
            for n in args.workers:
                for mode in ("cold", "warm"):  # alternating: drift hits both
                    workers = start_workers(n, mode == "warm", args.concurrency, database_url, home)
                    try:
                        figures = cycle(engine, profiles, workers, database_url)
                    finally:
                        stop(workers)
                    results.setdefault((mode, n), []).append(figures)
                    print(f"  {mode} × {n}: {figures['wall']:.1f} s, "
                          f"{figures['per_run']:.3f} CPU-s/run, {figures['statuses']}", flush=True)  # fmt: skip
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    print(f"\nno-change cycle over {len(profiles)} sites, worker concurrency {args.concurrency}, "
          f"median (lowest–highest) of {args.rounds}:")  # fmt: skip
    print(f"{'mode':<6}{'workers':>8}{'wall s':>22}{'CPU-s per site-run':>26}"
          f"{'worker MiB':>12}{'forkserver MiB':>16}{'crawl MiB':>11}")  # fmt: skip
    for (mode, n), rows in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        print(f"{mode:<6}{n:>8}{spread([r['wall'] for r in rows], '{:.1f}'):>22}"
              f"{spread([r['per_run'] for r in rows], '{:.3f}'):>26}"
              f"{max(r['worker_mib'] for r in rows):>12.0f}"
              f"{max(r['forkserver_mib'] for r in rows):>16.0f}"
              f"{max(r['crawl_mib'] for r in rows):>11.0f}")  # fmt: skip
    for n in args.workers:
        cold = statistics.median(r["per_run"] for r in results[("cold", n)])
        warm = statistics.median(r["per_run"] for r in results[("warm", n)])
        print(f"{n} worker(s): warm forks cost {warm / cold:.2f} of cold starts' CPU per run")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
