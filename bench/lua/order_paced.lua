-- wrk: like order.lua, but each connection waits BENCH_DELAY_MS between requests, so that the
-- order rate is held near a target (bench/run's propagation scenario).
local counter = 0
local tid = 0
local token = os.getenv("BENCH_CLIENT_TOKEN")
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
setup = function(thread)
  tid = tid + 1
  thread:set("tid", tid)
end
delay = function()
  return pause
end
request = function()
  counter = counter + 1
  local body = string.format('{"customer_id":"bench","lines":[{"sku":"bench-%d-a","quantity":1}]}', math.random(1, 1000))
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Idempotency-Key"] = string.format("paced-%s-%d-%d", os.time(), tid, counter),
  }
  return wrk.format("POST", "/v1/orders", headers, body)
end
