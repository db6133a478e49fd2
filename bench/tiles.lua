-- wrk script for bench/bench_tiles.py: cycles the tile paths in $TILE_LIST (one per line),
-- sends Accept-Encoding: gzip, and prints a JSON summary (req/s, latency percentiles, bytes).
local paths = {}
local i = 0

function init(args)
  for line in io.lines(os.getenv("TILE_LIST")) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  i = 0
end

function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], { ["Accept-Encoding"] = "gzip" })
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.3f, "p95_ms": %.3f, ' ..
    '"p99_ms": %.3f, "bytes": %d, "errors": %d, "non2xx": %d}\n',
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.bytes,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
