"""Edge: a WordPress export (WXR 1.1 or 1.2, Tools -> Export) read as a stream of small records.

lxml's ``iterparse`` reads the file element by element and each ``<item>`` is dropped once it
is turned into a record, so memory holds one post at a time, whatever the export's size. The
parser resolves no entities, loads no DTD and fetches nothing; a document type declaration is
refused outright (WordPress writes none, and it is where entity bombs and XXE live).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from os import PathLike
from typing import IO

from lxml import etree

from ..errors import FeedsvcError

# The namespaces WordPress's exporter writes, by WXR version.
WXR_NAMESPACES = {
    "http://wordpress.org/export/1.1/": "1.1",
    "http://wordpress.org/export/1.2/": "1.2",
}
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
_CREATOR = "{http://purl.org/dc/elements/1.1/}creator"
# The post meta keys the importer reads; every other key is dropped at once.
META_KEYS = frozenset(
    {"_thumbnail_id", "_yoast_wpseo_primary_category", "_wp_attachment_image_alt"}
)


class WxrError(FeedsvcError, ValueError):
    """The file is not a complete, well-formed WordPress export. ``line`` is 1-based."""

    def __init__(self, path: str, line: int, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = " ".join(reason.split())  # libxml2 quotes the text it stopped at
        super().__init__(f"{path}:{line}: {self.reason}")


@dataclass(frozen=True, slots=True)
class Author:
    """A ``<wp:author>``: the login that ``dc:creator`` names, and the name to show."""

    login: str
    display_name: str


@dataclass(frozen=True, slots=True)
class Term:
    """A ``<wp:category>`` of the channel: Yoast's primary category names it by term id."""

    term_id: str
    nicename: str
    name: str


@dataclass(frozen=True, slots=True)
class Item:
    """One ``<item>`` (a post, page, attachment, ...), its texts as the export holds them."""

    line: int
    post_id: str
    post_type: str
    status: str
    title: str
    link: str
    guid: str
    creator: str
    content: str
    excerpt: str
    post_date: str
    post_date_gmt: str
    modified: str
    modified_gmt: str
    post_name: str
    attachment_url: str
    has_password: bool  # WordPress shows the content only to who gives the post's password
    # (domain, nicename, name) of each <category>, in the export's order.
    terms: tuple[tuple[str, str, str], ...]
    meta: tuple[tuple[str, str], ...]  # only META_KEYS

    def meta_value(self, key: str) -> str:
        """The first value of a post meta key, or ""."""
        return next((value for name, value in self.meta if name == key), "")


Record = Author | Term | Item


def read_export(path: str | PathLike[str]) -> Iterator[Record]:
    """The export's authors, categories and items, in file order.

    Raises WxrError (with the line) for XML that is not well formed or is cut short, a file
    that is not WXR, or a document type declaration.
    """
    name = str(path)
    with open(name, "rb") as source:  # closed at once when the parse fails or stops
        yield from _records(name, source)


def _records(name: str, source: IO[bytes]) -> Iterator[Record]:
    parser = etree.iterparse(
        source,
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    wp = ""  # the WXR namespace, in braces, once <wp:wxr_version> is read
    depth = 0
    try:
        for event, element in parser:
            if event == "start":
                depth += 1
                if depth == 1:
                    _check_root(name, element)
                elif depth == 3 and element.tag == "item" and not wp:
                    raise WxrError(
                        name, _line(element),
                        "not a WordPress export (WXR): an <item> before <wp:wxr_version>",
                    )  # fmt: skip
                continue
            depth -= 1
            if depth != 2:  # records are the children of <channel>
                continue
            tag = element.tag
            if isinstance(tag, str) and tag.endswith("}wxr_version") and not wp:
                wp = _wxr_namespace(name, element)
            elif wp and tag == "item":
                yield _item(element, wp)
            elif wp and tag == f"{wp}author":
                yield Author(
                    _text(element, f"{wp}author_login"), _text(element, f"{wp}author_display_name")
                )
            elif wp and tag == f"{wp}category":
                yield Term(
                    _text(element, f"{wp}term_id"),
                    _text(element, f"{wp}category_nicename"),
                    _text(element, f"{wp}cat_name"),
                )
            # The record is made: the element and those before it are dropped.
            element.clear()
            parent = element.getparent()
            if parent is not None:
                while element.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as error:
        line = error.lineno or 1
        message = error.msg or str(error)
        if line >= _last_line(name):  # the error is where the file ends
            raise WxrError(name, line, f"the export is cut short ({message})") from None
        raise WxrError(name, line, f"not well-formed XML: {message}") from None
    if not wp:
        raise WxrError(name, 1, "not a WordPress export (WXR): no <wp:wxr_version>")


def _last_line(path: str) -> int:
    """The number of the file's last line (counted only when the parse failed)."""
    newlines, last = 0, b"\n"
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            newlines += block.count(b"\n")
            last = block[-1:]
    return newlines if last == b"\n" else newlines + 1


def _check_root(path: str, root: etree._Element) -> None:
    docinfo = root.getroottree().docinfo
    # (DocInfo.doctype is missing from lxml-stubs.)
    if getattr(docinfo, "doctype", "") or docinfo.internalDTD is not None:
        raise WxrError(path, 1, "a document type declaration: WordPress exports have none")
    if root.tag != "rss":
        raise WxrError(path, _line(root), f"not a WordPress export (WXR): the root is <{root.tag}>")


def _line(element: etree._Element) -> int:
    line = element.sourceline
    return line if isinstance(line, int) else 1


def _wxr_namespace(path: str, element: etree._Element) -> str:
    namespace = etree.QName(element).namespace or ""
    if namespace not in WXR_NAMESPACES:
        raise WxrError(
            path, _line(element),
            f"not a WordPress export (WXR) 1.1 or 1.2: namespace {namespace!r}",
        )  # fmt: skip
    return "{" + namespace + "}"


def _text(element: etree._Element, tag: str) -> str:
    child = element.find(tag)
    return (child.text or "") if child is not None else ""


def _item(element: etree._Element, wp: str) -> Item:
    terms = tuple(
        (child.get("domain", ""), child.get("nicename", ""), child.text or "")
        for child in element.iterchildren("category")
    )
    meta = tuple(
        (key, _text(child, f"{wp}meta_value"))
        for child in element.iterchildren(f"{wp}postmeta")
        if (key := _text(child, f"{wp}meta_key")) in META_KEYS
    )
    return Item(
        line=_line(element),
        post_id=_text(element, f"{wp}post_id").strip(),
        post_type=_text(element, f"{wp}post_type").strip(),
        status=_text(element, f"{wp}status").strip(),
        title=_text(element, "title"),
        link=_text(element, "link").strip(),
        guid=_text(element, "guid").strip(),
        creator=_text(element, _CREATOR).strip(),
        content=_text(element, _CONTENT),
        excerpt=_text(element, "{" + _excerpt_namespace(wp) + "}encoded"),
        post_date=_text(element, f"{wp}post_date").strip(),
        post_date_gmt=_text(element, f"{wp}post_date_gmt").strip(),
        modified=_text(element, f"{wp}post_modified").strip(),
        modified_gmt=_text(element, f"{wp}post_modified_gmt").strip(),
        post_name=_text(element, f"{wp}post_name").strip(),
        attachment_url=_text(element, f"{wp}attachment_url").strip(),
        has_password=bool(_text(element, f"{wp}post_password")),
        terms=terms,
        meta=meta,
    )


def _excerpt_namespace(wp: str) -> str:
    # WordPress names the excerpt's namespace after the WXR one: .../export/1.2/excerpt/
    return wp[1:-1] + "excerpt/"
