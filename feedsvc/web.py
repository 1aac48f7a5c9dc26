"""The HTTP edge: routes, WordPress aliases, conditional GET (Werkzeug), errors; a document's
headers come from headers.document_headers, as on the fast path (fastpath.py).

It never parses YAML or writes a feed format: it asks the FeedService for rendered bytes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Flask, Response, current_app, jsonify, redirect, request
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException, NotFound, PreconditionFailed
from werkzeug.wrappers import Response as BaseResponse

from .catalog import feed_url, link_header
from .headers import VARY, VARY_AUTHORIZATION, DocumentHeaders, corrected, document_headers
from .model import FeedKey, parse_feed_path, wordpress_feed_key
from .partners import PartnerRegistry, bearer_token
from .service import FeedService, RenderedDocument

EXTENSION_KEY = "feedsvc"
PARTNERS_KEY = "feedsvc.partners"
bp = Blueprint("feeds", __name__)


def service() -> FeedService:
    svc: FeedService = current_app.extensions[EXTENSION_KEY]
    return svc


def partners() -> PartnerRegistry | None:
    """The partners file's partners; None when partner feeds are off (no partners file)."""
    registry: PartnerRegistry | None = current_app.extensions.get(PARTNERS_KEY)
    return registry


@bp.get("/feeds/<path:name>")
def feed(name: str) -> BaseResponse:
    key = parse_feed_path(name)
    registry = partners()
    token = None if registry is None else bearer_token(request.headers.get("Authorization"))
    if registry is not None and token is not None:
        # A partner reading the public address: its own document, or exactly the 404 of an
        # unknown feed for a token that is unknown or revoked.
        return _partner_document(registry, token, key, url_token=None)
    rendered = None if key is None else service().feed(key)
    if key is None or rendered is None:
        raise NotFound()
    return _document_response(
        rendered,
        max_age=service().max_age(key),
        cross_origin=True,
        link=link_header(service().settings.site, key),
        # Once a Bearer token can change the answer, caches must tell the two apart.
        vary_authorization=registry is not None,
    )


# Every method reaches the view, which answers 404 to all but GET and HEAD: a 405 with Allow
# would tell that something lives at partner addresses.
_EVERY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@bp.route(
    "/partners/<token>/feeds/<path:name>", methods=_EVERY_METHOD, provide_automatic_options=False
)
def partner_feed(token: str, name: str) -> BaseResponse:
    registry = partners()
    if registry is None or request.method not in ("GET", "HEAD"):
        raise NotFound()
    return _partner_document(registry, token, parse_feed_path(name), url_token=token)


def _partner_document(
    registry: PartnerRegistry, token: str, key: FeedKey | None, *, url_token: str | None
) -> BaseResponse:
    partner = registry.find(token)
    rendered = None
    if partner is not None and key is not None:
        rendered = service().partner_feed(partner, key, url_token)
    if key is None or rendered is None:
        raise NotFound()  # the same answer for an unknown token and an unknown feed
    return _document_response(
        rendered,
        max_age=service().max_age(key),
        cross_origin=False,
        private=True,  # never kept by a shared cache
        vary_authorization=url_token is None,
    )


@bp.get("/feeds.opml")
def opml() -> BaseResponse:
    return _document_response(service().opml(), max_age=service().max_age(), cross_origin=True)


def _document_response(
    rendered: RenderedDocument,
    *,
    max_age: int,
    cross_origin: bool,
    private: bool = False,
    vary_authorization: bool = False,
    link: str | None = None,
) -> BaseResponse:
    gzipped = request.accept_encodings["gzip"] > 0
    headers = document_headers(
        rendered,
        gzipped=gzipped,
        max_age=max_age,
        private=private,
        cross_origin=cross_origin,
        vary=VARY_AUTHORIZATION if vary_authorization else VARY,
        link=link,
        date=datetime.now(UTC),  # the Date field is the wall clock's, not the service's clock
    )
    response = Response(rendered.gzip_body if gzipped else rendered.body, headers=headers.ok)
    # If-None-Match first, then If-Modified-Since; 304 with an empty body (RFC 9110 13.1).
    return _conditional(response, headers)


def _redirect_to(key: FeedKey | None) -> BaseResponse:
    svc = service()
    if key is None or svc.catalog().entry(key.scope) is None:
        raise NotFound()
    # The target comes from base_url and a validated slug, never from Host or the raw path.
    return redirect(feed_url(svc.settings.site, key), code=301)


@bp.get("/feed/")
@bp.get("/feed/<any(rss, rss2, atom):ending>/")
@bp.get("/<path:scope>/feed/")
@bp.get("/<path:scope>/feed/<any(rss, rss2, atom):ending>/")
def wordpress_feed(**_: str) -> BaseResponse:
    """A WordPress subscription address (model.wordpress_feed_key): 301 to its feed."""
    return _redirect_to(wordpress_feed_key(request.path))


@bp.get("/")
def index() -> BaseResponse:
    wordpress_feed = wordpress_feed_key("/", request.args.get("feed"))
    if wordpress_feed is not None:  # a WordPress /?feed=rss2 subscription
        return _redirect_to(wordpress_feed)
    return _document_response(service().index(), max_age=service().max_age(), cross_origin=False)


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


def register(app: Flask, svc: FeedService, registry: PartnerRegistry | None = None) -> None:
    app.extensions[EXTENSION_KEY] = svc
    app.extensions[PARTNERS_KEY] = registry
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


@bp.get("/healthz")
def healthz() -> BaseResponse:
    """200 while serving the store as it is now; 503 while serving a stale state because the
    store cannot be read (a load balancer can then route around this instance)."""
    health = service().health()
    response = jsonify(
        status="ok" if health.current else "stale",
        problem=health.problem,
        articles_served=health.articles_served,
        files_rejected=health.files_rejected,
        last_good_served=health.last_good_served,
        last_scan=health.last_scan.isoformat(timespec="seconds"),
    )
    response.status_code = 200 if health.current else 503
    response.cache_control.no_store = True
    return response


def _conditional(response: Response, headers: DocumentHeaders) -> BaseResponse:
    """Werkzeug's make_conditional on the corrected validators (headers.corrected); a
    failed If-Match is a plain 412, without the document. Range requests get the whole
    document (200): feeds are small and a range of one is useless. A 304 carries the
    document's 304 headers (``headers.not_modified``)."""
    conditional = response.make_conditional(corrected(request.environ, service().now()))
    if conditional.status_code == 412:
        raise PreconditionFailed()
    if conditional.status_code == 304:
        conditional.headers = Headers(headers.not_modified)
    return conditional
