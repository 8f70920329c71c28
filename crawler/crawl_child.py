"""The entry of a crawl forked from the worker's warm fork server (crawler/warm.py).

Kept apart and small: the fork server's child imports this module to find its target, and
everything heavy was imported by the fork server before it forked."""

from __future__ import annotations

import os
import select
import signal
import threading
import time
from typing import NoReturn


def start(argv: list[str], worker: int) -> NoReturn:
    """Be a crawl the way ``subprocess.Popen`` made one (a session of its own, no stdin or
    stdout, killed when the worker dies), then run ``govcrawl <argv>`` and exit with its code.

    A worker killed with SIGKILL frees the site locks it held, so its crawls must end with it:
    the fork server is this process's parent, not the worker, and it only leaves when its
    interpreter has finished, so this process watches the worker itself."""
    _die_with(worker)
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    from crawler.warm import child_main

    child_main(argv)


def _die_with(pid: int) -> None:
    """SIGKILL this process as soon as process ``pid`` ends (a pidfd turns readable then;
    without pidfds, a check twice a second)."""
    from crawler.database import process_alive as _alive  # imported by the fork server already

    try:
        watched = os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux ≥ 5.3, or the worker is gone already
        watched = None
        if not _alive(pid):
            os._exit(1)

    def watch() -> None:
        if watched is not None:
            select.select([watched], [], [])
        else:
            while _alive(pid):
                time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="worker-watch", daemon=True).start()
