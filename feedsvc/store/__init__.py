"""The edge that reads the article store: files -> validated records, one module per job.

- ``parse``: one article file's bytes to its record and its text (pure);
- ``fields``: typed, bounded front-matter values (pure);
- ``files``: listing and reading the store's files safely;
- ``snapshot``: a snapshot of the store and the duplicate rule (pure);
- ``records``: records as plain values, for the state database;
- ``watch``: which files changed, from inotify;
- ``reader``: ``StoreReader``, which ties them together.
"""
