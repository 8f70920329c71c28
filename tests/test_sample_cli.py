"""``python -m sample_portal``: every sample site is served by one command, writes a profile
that loads, and answers its first list page; its ground truth prints."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.request import urlopen

import pytest

from crawler import platforms
from crawler.profiles import load_profile
from sample_portal.__main__ import SITES, main


def test_every_sample_site_is_listed(capsys):
    assert main(["sites"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == list(SITES)


@pytest.mark.parametrize("name", sorted(SITES))
def test_each_sample_site_prints_its_ground_truth(name, tmp_path):
    out = tmp_path / "truth.json"
    assert main(["ground-truth", "--site", name, "--output", str(out)]) == 0
    truth = json.loads(out.read_text(encoding="utf-8"))
    assert len(truth["articles"]) >= 20


def _serve(name: str, profile: Path) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [sys.executable, "-m", "sample_portal", "serve", "--site", name, "--port", "0",
         "--profile", str(profile)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert server.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        if found := re.search(r"site at (http://127\.0\.0\.1:\d+)", line):
            return server, found[1]
        if not line and server.poll() is not None:
            break
    server.kill()
    raise AssertionError(f"{name}: no address printed; stderr: {server.stderr.read()[-2000:]}")  # type: ignore[union-attr]


@pytest.mark.parametrize("name", sorted(SITES))
def test_each_sample_site_serves_and_writes_a_profile_that_loads(name, tmp_path):
    profile_path = tmp_path / f"{name}.toml"
    server, base_url = _serve(name, profile_path)
    try:
        profile = load_profile(str(profile_path), tmp_path)
        assert profile.base_url == base_url
        assert profile.platform in platforms.names()
        assert profile.channels
        with urlopen(base_url + "/robots.txt", timeout=10) as reply:
            assert reply.status == 200
    finally:
        server.terminate()
        server.wait(10)


def test_the_old_flags_still_name_a_site(tmp_path):
    out = tmp_path / "truth.json"
    assert main(["ground-truth", "--generic", "--output", str(out)]) == 0
    generic = json.loads(out.read_text(encoding="utf-8"))
    assert main(["ground-truth", "--site", "generic", "--output", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == generic
