-- A worker's heartbeat, or its goodbye: its id under this run of Redis, scored by Redis time.
-- A heartbeat restored from the append-only file after a restart carries the old run's id,
-- so it never counts for a worker that is not connected to this run.
-- KEYS the workers sets of its queues; ARGV[1] worker id, ARGV[2] '1' to remove it instead.
local ok, info = pcall(redis.call, 'INFO', 'server')
local run = ok and string.match(info, 'run_id:(%w+)') or ''
local t = redis.call('TIME')
for _, key in ipairs(KEYS) do
  if ARGV[2] == '1' then
    redis.call('ZREM', key, run .. '|' .. ARGV[1])
  else
    redis.call('ZADD', key, tonumber(t[1]) + tonumber(t[2]) / 1e6, run .. '|' .. ARGV[1])
  end
end
return run
