-- wrk script: the traffic of scripts/generate_traffic.sh at full speed. Every connection runs
-- PUT -> GET -> DELETE cycles on its own id, and every response is checked: a 404 or a short body is an
-- error, never throughput.
--
--   wrk -t8 -c8 -d8s -s bench/cycle.lua http://127.0.0.1:PORT     (bench/run.ts does this)
--
-- wrk's Lua API does not say which connection a request or response belongs to, only which thread: each
-- thread has its own Lua state. So one connection per thread (-t equal to -c) gives every connection its
-- own state, its own id and an exact expectation for each response.

-- Body sizes of the PUTs, in turn: small objects as in the traffic script, 64 to 256 bytes.
local SIZES = { 64, 128, 192, 256 }

-- Setup phase (wrk's main Lua state): number the threads and keep them for done().
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("worker", #threads)
end

-- Running phase (one Lua state per thread). Requests are built once here; request() only picks one.
function init(args)
  local path = "/api/buckets/bench-" .. worker
  puts = {}
  for i, size in ipairs(SIZES) do
    -- A body that differs per size and worker, so a GET returning another object's bytes is caught.
    local body = string.rep(string.char(96 + i) .. worker, size / 2):sub(1, size)
    puts[i] = wrk.format("PUT", path, { ["Content-Type"] = "application/octet-stream" }, body)
  end
  get = wrk.format("GET", path, {})
  delete = wrk.format("DELETE", path, {})
  -- step counts answered requests: 0 = PUT, 1 = GET, 2 = DELETE of cycle number `cycle`.
  step = 0
  cycle = 0
  checked = 0
  unexpected = 0
  first_unexpected = ""
end

-- Advanced in response(), not here: wrk calls request() once before the run to inspect the request,
-- and again after a reconnect, so only an answered request moves the cycle on.
function request()
  if step == 0 then
    return puts[cycle % #SIZES + 1]
  elseif step == 1 then
    return get
  end
  return delete
end

local METHODS = { [0] = "PUT", [1] = "GET", [2] = "DELETE" }

function response(status, headers, body)
  local expected = step == 2 and 204 or 200
  local size = SIZES[cycle % #SIZES + 1]
  local ok = status == expected and (step ~= 1 or #body == size)
  checked = checked + 1
  if not ok then
    unexpected = unexpected + 1
    if first_unexpected == "" then
      first_unexpected = string.format("%s got %d with a %d-byte body (expected %d%s)", METHODS[step], status,
        #body, expected, step == 1 and string.format(" with %d bytes", size) or "")
    end
  end
  step = step + 1
  if step == 3 then
    step = 0
    cycle = cycle + 1
  end
end

-- One JSON line for bench/run.ts; wrk's own report above it is left as is for a human reader.
function done(summary, latency, requests)
  local checked_total, unexpected_total, sample = 0, 0, ""
  for _, thread in ipairs(threads) do
    checked_total = checked_total + thread:get("checked")
    unexpected_total = unexpected_total + thread:get("unexpected")
    if sample == "" then
      sample = thread:get("first_unexpected")
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"latency_p50_us":%d,"latency_p99_us":%d,' ..
      '"latency_max_us":%d,"checked":%d,"unexpected":%d,"first_unexpected":"%s",' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    checked_total, unexpected_total, sample, e.connect, e.read, e.write, e.status, e.timeout))
end
