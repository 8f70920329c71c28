"""A sample portal on 127.0.0.1 that reproduces the current platform, quirks included.

``generator`` builds the site (channels, /queryList records, article pages, attachments) and
its ground truth from a seed; ``server`` serves it over HTTP. Used by the tests, the benchmark
and ``govcrawl demo``.
"""
