#!/bin/sh
# feedsvc under granian: the server to use when feedsvc answers clients directly, without
# nginx's cache in front. Its Rust HTTP layer answers a cached feed three to five times as fast
# as gunicorn's threads do (README, Performance). Run from the repository root, with the venv's
# bin on PATH or GRANIAN set:
#
#   FEEDSVC_ARTICLES_DIR=/srv/feedsvc/articles FEEDSVC_STATE_DIR=/var/lib/feedsvc deploy/granian.sh
#
# It reads the same variables as deploy/gunicorn.conf.py: FEEDSVC_BIND (host:port, default
# 127.0.0.1:8000), FEEDSVC_WORKERS (default 2), FEEDSVC_ACCESS_LOG (off: no access log).
# Partner tokens are replaced by [redacted] in granian's access log by the app itself (each
# worker installs feedsvc.redact's filter on the granian.access logger). The access log is the
# combined format with granian's time stamps and no byte count (granian logs none), so that
# `feedsvc stats` sees each client's User-Agent: granian's default format has none.
# SIGHUP replaces the workers (each loads the app and scans the store itself: there is no
# preloading); SIGTERM stops, giving requests in flight 30 s.
# Each worker runs the app on 4 threads: granian's default for WSGI is hundreds, which only
# contend for the interpreter (a cached feed is 0.5 of nginx's rate with them, 0.6 with 4, in
# bench/serve.py), while 4 let cached answers go on while one thread renders a changed feed.
# Clients wait in granian's Rust layer, not on these threads.
# An argument names another WSGI app to serve the same way (bench/serve.py's bare callable).
set -eu
bind="${FEEDSVC_BIND:-127.0.0.1:8000}"
access_log="--access-log"
access_log_fmt='%(addr)s - - [%(time)s] "%(method)s %(path)s %(protocol)s" %(status)d - "%(header{referer})s" "%(header{user-agent})s"'
if [ "${FEEDSVC_ACCESS_LOG:-on}" = "off" ]; then
    access_log="--no-access-log"
fi
exec "${GRANIAN:-granian}" --interface wsgi \
    --host "${bind%:*}" --port "${bind##*:}" \
    --workers "${FEEDSVC_WORKERS:-2}" --runtime-threads 2 --blocking-threads 4 \
    --respawn-failed-workers --workers-kill-timeout 30 \
    "$access_log" --access-log-fmt "$access_log_fmt" \
    "${1:-wsgi:app}"
