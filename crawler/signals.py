"""govcrawl's own signals."""

# Sent with kind=, url=, reason= (and article_key= and channel= when a listing named the
# article) whenever a URL could not become an article: a failed
# fetch, a bad listing reply, a dropped record. CrawlRunRecorder stores them per run.
issue_reported = object()
