"""The HTTP edge: routes, WordPress aliases, headers, conditional GET (Werkzeug), errors.

It never parses YAML or touches feedgen: it asks the FeedService for rendered bytes.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, redirect, request
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.wrappers import Response as BaseResponse

from .model import ALL_SCOPE, FEED_FORMATS, SLUG_PATTERN, FeedFormat, FeedKey
from .render import feed_url
from .service import FeedService, RenderedFeed

EXTENSION_KEY = "feedsvc"
bp = Blueprint("feeds", __name__)

# WordPress ?feed= values and the format each answers with.
_WORDPRESS_QUERY_FEEDS: dict[str, FeedFormat] = {"rss2": "rss", "rss": "rss", "atom": "atom"}


def service() -> FeedService:
    svc: FeedService = current_app.extensions[EXTENSION_KEY]
    return svc


@bp.get("/feeds/<name>")
def feed(name: str) -> BaseResponse:
    scope, dot, fmt = name.rpartition(".")
    if not dot or fmt not in FEED_FORMATS or not SLUG_PATTERN.fullmatch(scope):
        raise NotFound()
    rendered = service().feed(FeedKey(scope, fmt))
    if rendered is None:
        raise NotFound()
    return _feed_response(rendered)


def _feed_response(rendered: RenderedFeed) -> BaseResponse:
    gzipped = request.accept_encodings["gzip"] > 0
    response = Response(
        rendered.gzip_body if gzipped else rendered.body, content_type=rendered.content_type
    )
    if gzipped:
        response.content_encoding = "gzip"
    # Each representation has its own strong ETag, so a 304 answers the one the client holds.
    response.set_etag(rendered.gzip_etag if gzipped else rendered.etag)
    response.last_modified = rendered.last_modified
    response.vary.add("Accept-Encoding")
    response.cache_control.public = True
    response.cache_control.max_age = service().max_age()
    # Web-based feed readers fetch public feeds cross-origin.
    response.access_control_allow_origin = "*"
    # If-None-Match first, then If-Modified-Since; 304 with an empty body (RFC 9110 13.1).
    return response.make_conditional(request)


def _redirect_to(scope: str, fmt: FeedFormat) -> BaseResponse:
    svc = service()
    if scope not in svc.scopes():
        raise NotFound()
    # The target comes from base_url and a validated slug, never from Host or the raw path.
    return redirect(feed_url(svc.settings.site, FeedKey(scope, fmt)), code=301)


@bp.get("/feed/")
@bp.get("/feed/rss/")
@bp.get("/feed/rss2/")
def wordpress_site_rss() -> BaseResponse:
    return _redirect_to(ALL_SCOPE, "rss")


@bp.get("/feed/atom/")
def wordpress_site_atom() -> BaseResponse:
    return _redirect_to(ALL_SCOPE, "atom")


@bp.get("/category/<slug>/feed/")
@bp.get("/category/<slug>/feed/rss/")
@bp.get("/category/<slug>/feed/rss2/")
def wordpress_category_rss(slug: str) -> BaseResponse:
    return _redirect_to(_category(slug), "rss")


@bp.get("/category/<slug>/feed/atom/")
def wordpress_category_atom(slug: str) -> BaseResponse:
    return _redirect_to(_category(slug), "atom")


def _category(slug: str) -> str:
    """A category scope from a WordPress path; "all" is the site feed, not a category."""
    if slug == ALL_SCOPE:
        raise NotFound()
    return slug


@bp.get("/")
def index() -> BaseResponse:
    wordpress_feed = request.args.get("feed")
    if wordpress_feed in _WORDPRESS_QUERY_FEEDS:  # a WordPress /?feed=rss2 subscription
        return _redirect_to(ALL_SCOPE, _WORDPRESS_QUERY_FEEDS[wordpress_feed])
    page = service().index()
    response = Response(page.body, content_type="text/html; charset=utf-8")
    response.set_etag(page.etag)
    response.cache_control.public = True
    response.cache_control.max_age = service().max_age()
    return response.make_conditional(request)


_MESSAGES = {
    404: "There is no feed at this address. The list of feeds is on the home page.",
    405: "This address does not answer that method; the Allow header lists those it does.",
}


def _plain_error(error: HTTPException) -> BaseResponse:
    """Every error as a short plain-text message: never a traceback, never HTML."""
    response = error.get_response()  # keeps headers such as Allow on a 405
    code = error.code or 500
    message = _MESSAGES.get(code, error.description or "")
    if code >= 500:
        message = "Something went wrong on our side; please try again later."
    response.set_data(f"{code} {error.name}\n{message}\n")
    response.content_type = "text/plain; charset=utf-8"
    return response


def register(app: Flask, svc: FeedService) -> None:
    app.extensions[EXTENSION_KEY] = svc
    # Werkzeug's own slash-fixing redirects would build Location from the Host header:
    # "/feed" matches "/feed/" directly, and "//feeds/x" is simply not found.
    app.url_map.strict_slashes = False
    app.url_map.merge_slashes = False
    app.register_blueprint(bp)
    app.register_error_handler(HTTPException, _plain_error)

    @app.after_request
    def no_sniffing(response: Response) -> BaseResponse:
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
