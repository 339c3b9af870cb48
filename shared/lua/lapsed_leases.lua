-- Running jobs whose lease has lapsed, by the leased-jobs index (no scan), with their queue.
-- KEYS[1] leased-jobs index; ARGV[1] at most this many, ARGV[2], ARGV[3] what goes before and
-- after a job id in its hash key.
-- Returns {id, queue or '', ...}.
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms, 'LIMIT', 0, ARGV[1])
local found = {}
for _, id in ipairs(ids) do
  found[#found + 1] = id
  found[#found + 1] = redis.call('HGET', ARGV[2] .. id .. ARGV[3], 'queue') or ''
end
return found
