"""Every subcommand of ``govcrawl`` given hostile arguments: one line on stderr, a documented
exit code, never a traceback, nothing crawled or written."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from crawler import cli

ROOT = Path(__file__).resolve().parent.parent
BAD = cli.EXIT_BAD_INPUT
NOT_UTF8 = b"\xff\xfe".decode("utf-8", "surrogateescape")  # what Python makes of such argv bytes

# (argv after `govcrawl --database-url URL`, exit code, a piece of the one line on stderr)
CASES = [
    (["nosuch"], BAD, "invalid choice"),
    ([], BAD, "required: command"),
    (["crawl"], BAD, "required: site"),
    (["crawl", "nosuchsite"], BAD, "no profile 'nosuchsite'"),
    (["crawl", ""], BAD, "no profile ''"),
    (["crawl", "/etc/passwd"], BAD, "/etc/passwd"),
    (["crawl", "nync", "-c", ",,,"], BAD, "give channel codes"),
    (["crawl", "nync", "-c", "nosuch"], BAD, "no channel 'nosuch'"),
    (["crawl", "nync", "--max-pages", "-1"], BAD, "not between 1 and"),
    (["crawl", "nync", "--max-pages", "1e3"], BAD, "invalid int value"),
    (["crawl", "nync", "--url", "javascript:alert(1)"], BAD, "http(s) URL"),
    (["crawl", "nync", "--mode", "fast"], BAD, "invalid choice"),
    (["crawl", "nync", "--log-file", "/nonexistent/dir/x.log"], BAD, "does not exist"),
    (["crawl", "nync", "--log-file", "/"], BAD, "--log-file /"),
    (["crawl", "nync", "-s", "NO_EQUALS"], BAD, "use NAME=VALUE"),
    (["crawl", "nync", "-s", "DOWNLOAD_DELAY=fast"], BAD, "not a valid value"),
    (["crawl", "nync", "-s", "ROBOTSTXT_OBEY=maybe"], BAD, "not a valid value"),
    (["crawl", "nync", "-s", "LOG_LEVEL=LOUD"], BAD, "not a valid value"),
    (["crawl", "nync", "-s", "GOVCRAWL_HOME=/etc/passwd"], BAD, "GOVCRAWL_HOME /etc/passwd"),
    (["crawl", f"nync{NOT_UTF8}"], BAD, "not UTF-8"),
    (["migrate", "extra"], BAD, "unrecognized arguments"),
    (["profiles", "extra"], BAD, "unrecognized arguments"),
    (["sql", "SELECT 1", "extra"], BAD, "unrecognized arguments"),
    (["sql", "SELECT '\x00'"], BAD, "NUL"),
    (["runs", "--limit", "-1"], BAD, "not between 1 and"),
    (["runs", "--limit", "0"], BAD, "not between 1 and"),
    (["runs", "--limit", "100000000000000000000"], BAD, "not between 1 and"),
    (["runs", "--format", "xml"], BAD, "invalid choice"),
    (["runs", "--site", NOT_UTF8], BAD, "--site: b'\\xff\\xfe' is not UTF-8"),
    (["runs"], BAD, "no runs in this database yet"),
    (["run", "abc"], BAD, "invalid int value"),
    (["run", "²"], BAD, "invalid int value"),
    (["run", "99999999999999999999999"], BAD, "not between 1 and"),
    (["run", "42"], BAD, "no run 42"),
    (["logs", "-1"], BAD, "not between 1 and"),
    (["logs", "42", "-f"], BAD, "no run 42"),
    (["sites", "--format", "yaml"], BAD, "invalid choice"),
    (["sites"], BAD, "no articles in this database yet"),
    (["show"], BAD, "required: article"),
    (["show", "²"], BAD, "no article '²'"),
    (["extract"], BAD, "required: FILE_OR_URL"),
    (["extract", "/nonexistent/p.html"], BAD, "no such file"),
    (["extract", "ftp://x.cn/a.html"], BAD, "not an http(s) URL"),
    (["extract", "a.html", "--url", "javascript:alert(1)"], BAD, "--url"),
    (["extract", "a.html", "--format", "csv"], BAD, "invalid choice"),
    (["discover"], BAD, "required: page"),
    (["discover", "/nonexistent/c.html"], BAD, "no such file"),
    (["discover", "ftp://x.cn/c.html"], BAD, "not an http(s) URL"),
    (["discover", "/etc/hostname"], BAD, "not a column page of a supported platform"),
    (["show", "99999999999999999999999"], BAD, "no article"),
    (["show", "-1"], BAD, "no article '-1'"),
    (["show", NOT_UTF8], BAD, "not UTF-8"),
    (["schedule", "--once", "--site", "nosuchsite"], BAD, "no profile 'nosuchsite'"),
    (["schedule", "--site", "a\x00b"], BAD, "NUL"),
    (["schedule", "--lst"], BAD, "unrecognized arguments"),
    (["reparse", "--site", "nosuchsite"], BAD, "no profile 'nosuchsite'"),
    (["reparse", "--since", "2025-13"], BAD, "is not a date"),
    (["reparse", "--site", "a\x00b"], BAD, "NUL"),
    (["reparse", "extra"], BAD, "unrecognized arguments"),
    (["worker", "--concurrency", "0"], BAD, "0 is not between 1 and 64"),
    (["worker", "--concurrency", "two"], BAD, "invalid int value: 'two'"),
    (["watch"], BAD, "required: watch_command"),
    (["watch", "add", "x", "病虫害", "--webhook", "ftp://e.org/h"], BAD, "give an http(s) URL"),
    (["watch", "add", "x", "，。", "--webhook", "http://e.org/h"], BAD, "nothing to search for"),
    (["watch", "add", "x", "病虫害"], BAD, "give --webhook URL and/or --email"),
    (["watch", "add", "x", "病虫害", "--email", "notanemail"], BAD, "not an e-mail address"),
    (["watch", "remove", "nosuch"], BAD, "no watch named 'nosuch'"),
    (["watch", "test", "nosuch"], BAD, "no watch named 'nosuch'"),
    (["watch", "list", "--format", "xml"], BAD, "invalid choice"),
    (["web", "--port", "99999"], BAD, "not between 1 and 65535"),
    (["web", "--port", "abc"], BAD, "invalid int value"),
    (["web", "--host", "0.0.0.0"], BAD, "needs GOVCRAWL_WEB_TOKEN"),
    (["search"], BAD, "required: text"),
    (["search", "，。"], BAD, "nothing to search for"),
    (["search", "病" * 30_000], BAD, "at most 200"),
    (["search", *["病虫"[i % 2] + str(i) for i in range(40)]], BAD, "at most 20"),
    (["search", "x", "--until", "9999-12"], BAD, "beyond the last day"),
    (["search", "x", "--until", "9999-12-31"], BAD, "beyond the last day"),
    (["search", "x", "--since", "2025-13"], BAD, "is not a date"),
    (["search", "x", "--since", "2025-10", "--until", "2025-01"], BAD, "is after"),
    (["search", "x", "--limit", "-1"], BAD, "not between 1 and"),
    (["search", "x", "--limit", "100000000000000000000"], BAD, "not between 1 and"),
    (["search", "x", "--status", "gone"], BAD, "invalid choice"),
    (["search", "x", "--site", NOT_UTF8], BAD, "--site"),
    (["search", "x", "--source", "a\x00b"], BAD, "NUL"),
    (["export", "-o", "/nonexistent/dir/out.jsonl"], BAD, "does not exist"),
    (["export", "-o", "/"], BAD, "is a folder"),
    (["export", "--format", "csv", "-o", "/dev/full"], BAD, "No space left on device"),
    (["export", "--format", "xml"], BAD, "invalid choice"),
    (["export", "x", "--until", "9999-12"], BAD, "beyond the last day"),
    (["demo", "-s", "CONCURRENT_REQUESTS=many"], BAD, "not a valid value"),
    (["demo", "-s", "GOVCRAWL_HOME=/etc/passwd"], BAD, "GOVCRAWL_HOME /etc/passwd"),
]


def subcommands() -> set[str]:
    parser = cli.build_parser()
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


def test_every_subcommand_is_tried():
    tried = {argv[0] for argv, _, _ in CASES if argv}
    assert subcommands() - tried == set()


@pytest.fixture(autouse=True)
def keep_sigpipe():
    """The query commands restore SIGPIPE's default; give pytest its own back."""
    before = signal.getsignal(signal.SIGPIPE)
    yield
    signal.signal(signal.SIGPIPE, before)


@pytest.mark.parametrize(
    ("argv", "code", "says"), CASES, ids=[" ".join(a)[:40] or "(none)" for a, _, _ in CASES]
)
def test_hostile_arguments_are_one_line_and_an_exit_code(
    argv, code, says, db, database_url, capsys, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["--database-url", database_url, *argv]) == code
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("govcrawl: "), err
    assert says in lines[0] and "Traceback" not in err
    assert database_url not in err


def test_a_hostile_database_url_is_one_line(capsys):
    for url, says in [
        ("postgresql://[::1", "is not a database URL"),
        ("postgresql://u@h:port/db", "is not a database URL"),
        ("mysql://u:pw@h/db", "needs PostgreSQL"),
        ("postgresql://u@127.0.0.1:99999/db", "cannot connect"),
    ]:
        assert cli.main(["--database-url", url, "runs"]) == BAD
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("govcrawl: ") and says in err, err


def govcrawl(*args: str | bytes, env: dict[str, str] | None = None, **kw):
    """The command as a process (for argv bytes, environments and file descriptors)."""
    full_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args],
        cwd=ROOT,
        env=full_env,
        capture_output="stdout" not in kw,
        timeout=120,
        **kw,
    )


def one_line(result: subprocess.CompletedProcess, code: int) -> str:
    err = result.stderr.decode("utf-8", "replace")
    assert result.returncode == code, err
    assert err.count("\n") == 1 and err.startswith("govcrawl: "), err
    assert "Traceback" not in err
    return err


def test_argv_bytes_that_are_not_utf8(db, database_url):
    err = one_line(govcrawl(b"--database-url", database_url, b"runs", b"--site", b"\xff"), BAD)
    assert "--site: b'\\xff' is not UTF-8 text" in err


def test_a_govcrawl_home_that_is_a_file_or_cannot_be_written(tmp_path):
    a_file = tmp_path / "home"
    a_file.write_text("not a folder")
    err = one_line(govcrawl("runs", env={"GOVCRAWL_HOME": str(a_file)}), BAD)
    assert f"GOVCRAWL_HOME {a_file} must be a folder govcrawl can write in" in err
    read_only = "/sys/govcrawl-home"  # not writable, even by root
    if os.geteuid() != 0:
        read_only = str(tmp_path / "ro")
        os.mkdir(read_only, 0o500)
    err = one_line(govcrawl("crawl", "nync", env={"GOVCRAWL_HOME": read_only}), BAD)
    assert f"GOVCRAWL_HOME {read_only} must be a folder govcrawl can write in" in err


def test_output_to_a_full_disk(db, database_url):
    with open("/dev/full", "wb") as full:
        result = govcrawl("--database-url", database_url, "export", "--format", "csv",
                          stdout=full, stderr=subprocess.PIPE)  # fmt: skip
    assert "No space left on device" in one_line(result, cli.EXIT_ERROR)


def test_export_that_fails_keeps_the_file_it_would_replace(db, database_url, tmp_path, capsys):
    target = tmp_path / "articles.jsonl"
    target.write_text("yesterday's export\n")
    code = cli.main(["--database-url", database_url, "export", "x", "--since", "2025-13",
                     "-o", str(target)])  # fmt: skip
    assert code == BAD and "is not a date" in capsys.readouterr().err
    assert target.read_text() == "yesterday's export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["articles.jsonl"]
    assert cli.main(["--database-url", database_url, "export", "-o", str(target)]) == 0
    assert target.read_text() == "" and sorted(p.name for p in tmp_path.iterdir()) == [
        "articles.jsonl"
    ]


def test_an_unexpected_error_is_one_line_too(monkeypatch, capsys):
    def broken(args):
        raise RuntimeError("something nobody foresaw\nsecond line")

    parser = cli.build_parser
    monkeypatch.setattr(cli, "build_parser", lambda: _with_func(parser(), "profiles", broken))
    assert cli.main(["profiles"]) == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert err == (
        "govcrawl: unexpected error: RuntimeError: something nobody foresaw "
        "(run again with --traceback to see where)\n"
    )
    with pytest.raises(RuntimeError):
        cli.main(["--traceback", "profiles"])


def _with_func(parser, command, func):
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub.choices[command].set_defaults(func=func)
    return parser


@pytest.mark.parametrize(
    "name, value",
    [
        ("GOVCRAWL_LOG_KEEP_RUNS", "abc"),
        ("GOVCRAWL_LOG_KEEP_RUNS", "-3"),
        ("GOVCRAWL_LOG_KEEP_DAYS", "nan"),
        ("GOVCRAWL_LOG_KEEP_DAYS", "inf"),
        ("GOVCRAWL_SMTP_PORT", "0"),
    ],
)
def test_a_bad_number_in_the_environment_is_one_line_and_exit_2(name, value, tmp_path):
    env = {**os.environ, name: value, "GOVCRAWL_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "profiles"], env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"govcrawl: {name}={value!r} must be "
        + ("a whole number" if name != "GOVCRAWL_LOG_KEEP_DAYS" else "a number")
        + f" of at least {1 if name == 'GOVCRAWL_SMTP_PORT' else 0}"
    ]


def test_a_platform_module_that_cannot_be_imported_is_one_line_and_exit_2(tmp_path):
    profile = tmp_path / "x.toml"
    profile.write_text(
        'name = "x"\nbase_url = "https://x.gov.cn"\nplatform = "trs"\n[[channels]]\ncode = "a/b"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "GOVCRAWL_PLATFORM_MODULES": "nosuch_mod", "GOVCRAWL_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "extract", str(profile)], env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "govcrawl: platform module 'nosuch_mod' (GOVCRAWL_PLATFORM_MODULES) cannot be "
        "imported: No module named 'nosuch_mod'"
    ]
