-- wrk script: every connection cycles PUT -> GET -> DELETE on its own id and checks every answer, so a 404
-- or a wrong body is counted as wrong, never as throughput. wrk gives each thread its own Lua state but no
-- connection identity, hence one connection per thread (scripts/bench/wrk.ts runs -tN -cN).
local SIZES = { 64, 128, 192, 256 }
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init()
  local path = "/api/buckets/bench-" .. id
  bodies, puts = {}, {}
  for i, size in ipairs(SIZES) do
    -- Bytes that differ per size and connection, so a GET returning another object's bytes is caught.
    bodies[i] = string.rep(string.char(96 + i) .. id, size):sub(1, size)
    puts[i] = wrk.format("PUT", path, { ["Content-Type"] = "application/octet-stream" }, bodies[i])
  end
  get, delete = wrk.format("GET", path), wrk.format("DELETE", path)
  step, cycle, wrong, first = 0, 0, 0, ""
end

-- The cycle moves on in response() only: wrk also calls request() before the run and after a reconnect.
function request()
  if step == 0 then return puts[cycle % #SIZES + 1] end
  return step == 1 and get or delete
end

function response(status, headers, body)
  local ok = (step == 0 and status == 200)
    or (step == 1 and status == 200 and body == bodies[cycle % #SIZES + 1])
    or (step == 2 and status == 204)
  if not ok then
    wrong = wrong + 1
    if first == "" then first = string.format("step %d answered %d with %d bytes", step, status, #body) end
  end
  step = (step + 1) % 3
  if step == 0 then cycle = cycle + 1 end
end

function done(summary, latency)
  local total, sample = 0, ""
  for _, thread in ipairs(threads) do
    total = total + thread:get("wrong")
    if sample == "" then sample = thread:get("first") end
  end
  local e = summary.errors
  io.write(string.format('BENCH {"requests":%d,"seconds":%f,"p50_us":%d,"p99_us":%d,"wrong":%d,"first":"%s",'
    .. '"socket_errors":%d}\n', summary.requests, summary.duration / 1e6, latency:percentile(50),
    latency:percentile(99), total, sample, e.connect + e.read + e.write + e.timeout))
end
