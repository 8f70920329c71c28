"""The one record govcrawl produces: an article as listed and, if needed, as fetched."""

import scrapy


class ArticleItem(scrapy.Item):
    # what the spider found
    site = scrapy.Field()
    channels = scrapy.Field()  # list of channel codes the article was listed under
    url = scrapy.Field()
    platform_id = scrapy.Field()
    title = scrapy.Field()
    published = scrapy.Field()  # raw date text as the portal gave it
    source = scrapy.Field()
    author = scrapy.Field()
    body_html = scrapy.Field()  # raw body fragment; NormalisePipeline cleans it
    images = scrapy.Field()
    # files the listing attaches ({"url", "name", "type"}; the querylist platform's
    # articleFiles): NormalisePipeline adds them to the attachments the body links to
    listing_attachments = scrapy.Field()
    extra = scrapy.Field()  # structured extras (column name, 文号, …)
    fetched_from = scrapy.Field()  # "listing" (JSON) or "page" (article HTML)
    etag = scrapy.Field()  # the page's validators, for conditional GETs when re-checked
    last_modified = scrapy.Field()
    listing_hash = scrapy.Field()
    page_hash = scrapy.Field()  # sha256 of the page's title and body container, when fetched  # fingerprint of the listing entry (None for a single page)
    # pointers to the raw archive's records of the page and of the listing reply
    # (crawler/archive.py: "<site>/<file>#<offset>"; None when not archived)
    archive_page = scrapy.Field()
    archive_listing = scrapy.Field()
    # what NormalisePipeline derives
    article_key = scrapy.Field()
    published_at = scrapy.Field()
    body_text = scrapy.Field()
    attachments = scrapy.Field()
    content_hash = scrapy.Field()
    body_hash = scrapy.Field()
