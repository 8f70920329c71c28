"""Pure extraction functions: given a page (HTML or JSON text) and its URL, return fields.

Nothing here performs I/O or touches Scrapy's engine, so every function is tested on saved
fixtures without starting a crawl.
"""
