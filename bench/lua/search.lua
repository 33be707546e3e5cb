-- wrk: one page of 50 from a two-word search (every word must match: an intersection).
request = function()
  return wrk.format("GET", "/v1/products?q=linen%20shirt&limit=50")
end
