"""The ``feedsvc-config-keys`` directive: the configuration keys of feedsvc.settings.KEYS as a
table, so that the reference shows the keys the service reads (tests/test_docs.py checks them).

Options: ``:where:`` one of site, site.toml, env, deploy (KEYS' groups).
"""

from __future__ import annotations

from typing import Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import Directive, directives
from docutils.statemachine import StringList

from feedsvc.settings import KEYS

COLUMNS = {
    "site": ("`site.toml` key", "Environment", "Default", "Meaning"),
    "site.toml": ("`site.toml` table", "Default", "Meaning"),
    "env": ("Environment", "Default", "Meaning"),
    "deploy": ("Environment", "Default", "Meaning"),
}


class ConfigKeys(Directive):
    """Renders the KEYS of one group as a Markdown table, parsed by MyST like the page."""

    option_spec: ClassVar[dict[str, Any]] = {
        "where": lambda value: directives.choice(value, tuple(COLUMNS))
    }

    def run(self) -> list[nodes.Node]:
        where = self.options.get("where", "env")
        header = COLUMNS[where]
        rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for key in KEYS:
            if key.where != where:
                continue
            env = f"`FEEDSVC_{key.name.upper()}`"
            name = f"`{key.name}`"
            cells = {
                "site": (name, env),
                "site.toml": (name,),
                "env": (env,),
                "deploy": (env,),
            }[where] + (key.default, key.meaning)
            rows.append("| " + " | ".join(cells) + " |")
        container = nodes.container()
        self.state.nested_parse(StringList(rows, "feedsvc.settings.KEYS"), 0, container)
        return list(container.children)


def setup(app: Any) -> dict[str, object]:
    app.add_directive("feedsvc-config-keys", ConfigKeys)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
