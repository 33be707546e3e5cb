-- wrk: GET /v1/products/{id} for uniformly random ids tm-0000001 .. tm-<BENCH_PRODUCTS>.
local n = tonumber(os.getenv("BENCH_PRODUCTS") or "100000")
math.randomseed(os.time())
request = function()
  return wrk.format("GET", string.format("/v1/products/tm-%07d", math.random(1, n)))
end
