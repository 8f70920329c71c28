"""python -m sample_portal serve [--site NAME] [--port 8800] [--profile sample.toml] [--faults 0.15]
python -m sample_portal ground-truth [--site NAME] [--output FILE]
python -m sample_portal sites

One sample site per platform shape, each served by the same kind of local server, with its
ground truth and a profile that crawls it. ``--jcms``, ``--col``, ``--trs`` and ``--generic``
are short for ``--site jcms`` and so on."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SampleSite:
    """A sample site: ``module.generate()`` makes it, ``module.server`` serves it and
    ``module.profile_text(base_url)`` describes it (each name as the module spells it)."""

    name: str
    module: str
    generate: str
    server: str
    about: str
    profile_text: str | None = "profile_text"  # None: the profile is written another way

    def load(self) -> tuple[Any, type[Any], Any]:
        module = importlib.import_module(self.module)
        profile = getattr(module, self.profile_text) if self.profile_text else None
        # "package.module:Class" when the server lives in another module
        where, _, name = self.server.rpartition(":")
        server = getattr(importlib.import_module(where) if where else module, name)
        return getattr(module, self.generate)(), server, profile


SITES = {
    site.name: site
    for site in (
        SampleSite(
            "querylist", "sample_portal.generator", "generate_portal",
            "sample_portal.server:SamplePortalServer",
            "the current Jiangxi platform (POST /queryList), three channels", None,
        ),
        SampleSite(
            "col", "sample_portal.col", "generate_col_portal", "ColPortalServer",
            "the current platform's /<site>/col/<channel>/index.html shape; its profile is "
            "written by `govcrawl discover`", None,
        ),
        SampleSite(
            "jcms", "sample_portal.jcms", "generate_jcms_portal", "JcmsPortalServer",
            "legacy Hanweb JCMS (<datastore>, dataproxy.jsp)",
        ),
        SampleSite(
            "trs", "sample_portal.trs", "generate_trs_portal", "TrsPortalServer",
            "TRS WCM static lists index.html, index_1.html, …",
        ),
        SampleSite(
            "generic", "sample_portal.generic", "generate_generic_portal", "GenericPortalServer",
            "a site described by URL pattern and selectors in the profile",
        ),
        SampleSite(
            "jpaas", "sample_portal.jpaas", "generate_jpaas_portal", "JpaasPortalServer",
            "Hanweb jpaas (the unit endpoint, lists in data.html)",
        ),
        SampleSite(
            "gansu", "sample_portal.gansu", "generate_gansu_portal", "GansuPortalServer",
            "Gansu's shared platform (zwgklist.shtml lists), crawled as trs",
        ),
        SampleSite(
            "ucap", "sample_portal.ucap", "generate_ucap_portal", "UcapPortalServer",
            "gov.cn UCAP article pages, lists described to the generic platform",
        ),
    )
}  # fmt: skip
ALIASES = ("jcms", "col", "trs", "generic", "jpaas", "gansu", "ucap")


def _write_profile(site: SampleSite, portal: Any, server: Any, profile_text: Any, path: Path) -> None:  # fmt: skip
    if site.name == "col":
        from crawler.discover import checked_profile_text, discover, read_page

        url = server.base_url + portal.channels[1].path
        path.write_text(
            checked_profile_text(discover(*read_page(url), name="sample-col")), encoding="utf-8"
        )
    elif site.name == "querylist":
        from sample_portal.profile import write_profile

        write_profile(portal, server.base_url, path)
    else:
        path.write_text(profile_text(server.base_url), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sample_portal", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve a sample site on 127.0.0.1 until Ctrl-C")
    truth = sub.add_parser("ground-truth", help="print a sample site's ground truth as JSON")
    sub.add_parser("sites", help="list the sample sites")
    for command in (serve, truth):
        command.add_argument(
            "--site", choices=sorted(SITES), default="querylist",
            help="which sample site (default: querylist)",
        )  # fmt: skip
        for alias in ALIASES:
            command.add_argument(
                f"--{alias}", dest="site", action="store_const", const=alias,
                help=f"short for --site {alias}",
            )  # fmt: skip
    serve.add_argument("--port", type=int, default=8800)
    serve.add_argument(
        "--profile", type=Path, default=Path("sample.toml"), help="where to write its site profile"
    )
    serve.add_argument(
        "--faults", type=float, default=0.0, metavar="SHARE",
        help="misbehave on this share of URLs (0.15: 15%%): 503/500, resets, slow, truncated, "
        "bad JSON, error pages with 200, JS challenges, wrong charset, huge pages, off-host links",
    )  # fmt: skip
    serve.add_argument(
        "--attachment-cases", action="store_true",
        help="(querylist) link real PDF/Word/Excel files from a few articles: shared, oversized "
        "(2 MB), corrupt, on another host (sample_portal/attachments.py)",
    )  # fmt: skip
    truth.add_argument("--output", type=Path)
    args = parser.parse_args(argv)

    if args.command == "sites":
        width = max(map(len, SITES))
        for site in SITES.values():
            print(f"{site.name:<{width}}  {site.about}")
        return 0
    site = SITES[args.site]
    portal, server_class, profile_text = site.load()
    if args.command == "ground-truth":
        text = json.dumps(portal.ground_truth(), ensure_ascii=False, indent=1) + "\n"
        if args.output:
            args.output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return 0
    with server_class(portal, port=args.port) as server:
        if args.faults:
            from sample_portal.faults import Faults

            server.faults = Faults(rate=args.faults, off_host="http://127.0.0.2:9")
        if args.attachment_cases:
            from sample_portal.attachments import add_cases

            add_cases(portal, server)
        _write_profile(site, portal, server, profile_text, args.profile)
        count = len(getattr(portal, "articles", ()) or portal.ground_truth()["articles"])
        print(f"sample {site.name} site at {server.base_url} ({count} articles); profile: {args.profile}")  # fmt: skip
        print(f"crawl it with:  govcrawl crawl {args.profile}")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
