"""A stats collector that also writes the final stats as JSON to BENCH_STATS_FILE."""

import json

from scrapy.statscollectors import MemoryStatsCollector


class JsonStatsDump(MemoryStatsCollector):
    def _persist_stats(self, stats, *args):  # type: ignore[no-untyped-def]
        super()._persist_stats(stats, *args)
        path = self._crawler.settings.get("BENCH_STATS_FILE")
        if path:
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(stats, fh, default=str)
