-- {"day": usage-day hash, "prefix": "key|model|provider|", "values": {metric: "n"}, "ttl": s,
--  "spend": [spend counter keys], "cost": "usd" or absent}: shared/accounting.py builds it.
local function charge(raw)
  local c = cjson.decode(raw)
  for metric, value in pairs(c.values) do
    redis.call('HINCRBYFLOAT', c.day, c.prefix .. metric, value)
  end
  redis.call('EXPIRE', c.day, c.ttl)
  if c.cost then
    for _, counter in ipairs(c.spend) do
      redis.call('INCRBYFLOAT', counter, c.cost)
      redis.call('EXPIRE', counter, c.ttl)
    end
  end
end
