-- wrk: POST /v1/orders with a distinct Idempotency-Key per request, one line of 1 unit of a random
-- sku among bench-1-a .. bench-1000-a (stock set ample by bench/run). With BENCH_DELAY_MS set, each
-- connection waits that long between requests, to hold the order rate near a target.
local counter = 0
local tid = 0
local token = os.getenv("BENCH_CLIENT_TOKEN")
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
if pause > 0 then
  delay = function()
    return pause
  end
end
setup = function(thread)
  tid = tid + 1
  thread:set("tid", tid)
end
request = function()
  counter = counter + 1
  local body = string.format('{"customer_id":"bench","lines":[{"sku":"bench-%d-a","quantity":1}]}', math.random(1, 1000))
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Idempotency-Key"] = string.format("bench-%s-%d-%d", os.time(), tid, counter),
  }
  return wrk.format("POST", "/v1/orders", headers, body)
end
response = function(status, headers, body)
  if status ~= 201 then errors = (errors or 0) + 1 end
end
