"""python -m sample_portal serve [--port 8800] [--jcms | --col | --trs] [--profile sample.toml] [--faults 0.15] | ground-truth"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from sample_portal.generator import generate_portal
from sample_portal.profile import write_profile
from sample_portal.server import SamplePortalServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sample_portal", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the sample portal on 127.0.0.1 until Ctrl-C")
    serve.add_argument("--port", type=int, default=8800)
    serve.add_argument(
        "--jcms", action="store_true", help="serve the legacy Hanweb JCMS sample instead"
    )
    serve.add_argument(
        "--trs", action="store_true", help="serve the TRS WCM sample (static list pages) instead"
    )
    serve.add_argument(
        "--col", action="store_true",
        help="serve the current platform's col-shaped site (/<site>/col/<channel>/index.html) "
        "and write its profile with `govcrawl discover`",
    )  # fmt: skip
    serve.add_argument(
        "--profile", type=Path, default=Path("sample.toml"), help="where to write its site profile"
    )
    serve.add_argument(
        "--faults", type=float, default=0.0, metavar="SHARE",
        help="misbehave on this share of URLs (0.15: 15%%): 503/500, resets, slow, truncated, "
        "bad JSON, error pages with 200, JS challenges, wrong charset, huge pages, off-host links",
    )  # fmt: skip
    truth = sub.add_parser("ground-truth", help="print the ground truth as JSON")
    truth.add_argument("--output", type=Path)
    truth.add_argument("--jcms", action="store_true", help="the legacy Hanweb JCMS sample's")
    truth.add_argument("--col", action="store_true", help="the col-shaped site's")
    truth.add_argument("--trs", action="store_true", help="the TRS WCM sample's")
    args = parser.parse_args(argv)

    if args.col:
        from sample_portal.col import ColPortalServer, generate_col_portal

        portal: Any = generate_col_portal()
    elif args.jcms:
        from sample_portal.jcms import JcmsPortalServer, generate_jcms_portal, profile_text

        portal = generate_jcms_portal()
    elif args.trs:
        from sample_portal.trs import TrsPortalServer, generate_trs_portal
        from sample_portal.trs import profile_text as trs_profile_text

        portal = generate_trs_portal()
    else:
        portal = generate_portal()
    if args.command == "ground-truth":
        text = json.dumps(portal.ground_truth(), ensure_ascii=False, indent=1) + "\n"
        if args.output:
            args.output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return 0
    server_class = (
        ColPortalServer
        if args.col
        else JcmsPortalServer
        if args.jcms
        else TrsPortalServer
        if args.trs
        else SamplePortalServer
    )
    with server_class(portal, port=args.port) as server:
        if args.faults:
            from sample_portal.faults import Faults

            server.faults = Faults(rate=args.faults, off_host="http://127.0.0.2:9")
        if args.col:
            from crawler.discover import checked_profile_text, discover, read_page

            url = server.base_url + portal.channels[1].path
            site = discover(*read_page(url), name="sample-col")
            args.profile.write_text(checked_profile_text(site), encoding="utf-8")
        elif args.jcms:
            args.profile.write_text(profile_text(server.base_url), encoding="utf-8")
        elif args.trs:
            args.profile.write_text(trs_profile_text(server.base_url), encoding="utf-8")
        else:
            write_profile(portal, server.base_url, args.profile)
        print(
            f"sample portal at {server.base_url} ({len(portal.articles)} articles); profile: {args.profile}"
        )
        print(f"crawl it with:  govcrawl crawl {args.profile}")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
