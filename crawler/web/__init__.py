"""govcrawl web: the operator's dashboard and the reader's search, feeds and watches."""
