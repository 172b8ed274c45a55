-- Wraps the baseline's post.lua (same bodies, same rotation) and also reads each response's modelVersion, to check a
-- champion swap under load: no failed request, and after a thread has seen version N, how many responses still say < N.
dofile(os.getenv("POST_LUA"))

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

maxv, minv, older, non200 = 0, 0, 0, 0
response = function(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    return
  end
  local v = tonumber(string.match(body or "", '"modelVersion":"[^"]*/(%d+)"'))
  if v then
    if minv == 0 or v < minv then minv = v end
    if v > maxv then maxv = v elseif v < maxv then older = older + 1 end
  end
end

done = function(summary, latency, requests)
  local lo, hi, old, bad = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    local tl, th = t:get("minv"), t:get("maxv")
    if lo == 0 or (tl > 0 and tl < lo) then lo = tl end
    if th > hi then hi = th end
    old = old + t:get("older")
    bad = bad + t:get("non200")
  end
  local e = summary.errors
  io.write(string.format("SWAP requests=%d non200=%d sock_errors=%d first_version=%d last_version=%d old_after_new=%d " ..
    "lat_us_p50=%d p99=%d max=%d\n", summary.requests, bad, e.connect + e.read + e.write + e.timeout, lo, hi, old,
    latency:percentile(50), latency:percentile(99), latency.max))
end
