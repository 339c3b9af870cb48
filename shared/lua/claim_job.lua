-- A worker takes a job. Guards against running a job twice when its task is delivered twice.
-- KEYS[1] job hash, KEYS[2] lease, KEYS[3] leased-jobs index, KEYS[4] queued-jobs index
-- ARGV[1] worker id, ARGV[2] lease TTL ms, ARGV[3] now (unix s, the job's timings), ARGV[4] job id
-- Returns {state, spec, cancel requested, first token time, attempts}; state is one of
-- missing | finished | busy (another live worker holds it) | claimed | resumed (its worker died).
-- The leased-jobs index is scored by when the lease lapses, on Redis' clock.
local fields = redis.call('HMGET', KEYS[1], 'status', 'spec', 'cancel', 'first_token_at')
local status = fields[1]
if status ~= 'queued' and status ~= 'running' then
  redis.call('ZREM', KEYS[3], ARGV[4])
  redis.call('ZREM', KEYS[4], ARGV[4])
  if not status then return {'missing'} end
  return {'finished'}
end
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = 'claimed'
if status == 'running' then
  local left = redis.call('PTTL', KEYS[2])
  if left ~= -2 then
    if left < 0 then left = tonumber(ARGV[2]) end
    redis.call('ZADD', KEYS[3], now_ms + left, ARGV[4])  -- the index follows the lease
    return {'busy'}
  end
  state = 'resumed'
else
  redis.call('HSET', KEYS[1], 'status', 'running', 'started_at', ARGV[3])
end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[3], now_ms + tonumber(ARGV[2]), ARGV[4])
redis.call('ZREM', KEYS[4], ARGV[4])
return {state, fields[2], fields[3] or '', fields[4] or '', attempts}
