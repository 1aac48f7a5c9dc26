"""``feedsvc import wordpress``: a WordPress export (WXR) written into the article store."""
