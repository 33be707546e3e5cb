-- wrk: one page of 50 from a category listing.
request = function()
  return wrk.format("GET", "/v1/products?category=men/shirts&limit=50")
end
