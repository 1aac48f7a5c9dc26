-- wrk script for bench/load.py: rotates over the feed paths given after "--", asks for gzip
-- on every other request and sends a stale If-None-Match on every third, counts answers by
-- class, and prints one JSON line of totals when done.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  paths = args
  sent = 0
  ok = 0         -- 200
  not_modified = 0  -- 304
  other = 0      -- anything else: must stay 0
end

function request()
  sent = sent + 1
  local headers = {}
  if sent % 2 == 0 then headers["Accept-Encoding"] = "gzip" end
  if sent % 3 == 0 then headers["If-None-Match"] = '"stale"' end
  return wrk.format("GET", paths[(sent % #paths) + 1], headers)
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
  elseif status == 304 then
    not_modified = not_modified + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local totals = {ok = 0, not_modified = 0, other = 0}
  for _, thread in ipairs(threads) do
    totals.ok = totals.ok + thread:get("ok")
    totals.not_modified = totals.not_modified + thread:get("not_modified")
    totals.other = totals.other + thread:get("other")
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "seconds": %.3f, "ok": %d, "not_modified": %d, "other": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "status_errors": %d, ' ..
    '"timeouts": %d, "p50_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f}\n',
    summary.requests, summary.duration / 1e6, totals.ok, totals.not_modified, totals.other,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
