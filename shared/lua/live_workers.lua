-- The workers of a queue whose heartbeat is recent (by Redis time) and was written to this run
-- of Redis (see worker_heartbeat.lua); older entries are pruned.
-- KEYS[1] the queue's workers set; ARGV[1] freshness window s. Returns the worker ids.
local ok, info = pcall(redis.call, 'INFO', 'server')
local run = (ok and string.match(info, 'run_id:(%w+)') or '') .. '|'
local t = redis.call('TIME')
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(t[1]) - tonumber(ARGV[1]))
local live = {}
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(member, 1, #run) == run then live[#live + 1] = string.sub(member, #run + 1) end
end
return live
