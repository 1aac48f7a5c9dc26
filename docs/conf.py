"""Sphinx configuration of the feedsvc docs: MyST Markdown pages, the furo theme, the CLI
reference from feedsvc.cli.build_parser and the configuration keys from feedsvc.settings.KEYS.

The build needs no network: no intersphinx, no remote images.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "feedsvc"
copyright = "feedsvc maintainers"
extensions = ["myst_parser", "sphinxarg.ext", "feedsvc_docs"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
# Headings down to ### get anchors, so pages link to each other's sections (page.md#anchor).
myst_heading_anchors = 3
html_theme = "furo"
html_title = "feedsvc"
