-- Recover a job whose lease lapsed (its worker died, or lost Redis for longer than the lease).
-- Nothing streamed yet: it is queued again (the claim guard runs it once, wherever it lands).
-- Tokens out, or too many attempts: the caller takes a lease of its own and ends it.
-- KEYS[1] job hash, KEYS[2] lease, KEYS[3] leased-jobs index, KEYS[4] queued-jobs index,
-- KEYS[5] broker's unacked hash, KEYS[6] its index, KEYS[7] the job's broker queue (a list)
-- ARGV[1] job id, ARGV[2] recovering worker id, ARGV[3] lease TTL ms, ARGV[4] max attempts,
-- ARGV[5] the task message to push on KEYS[7], or '' (no queue here: a batch line, which
-- its batch's driver claims again, or a broker elsewhere, which the caller publishes to).
-- Returns gone | alive | requeued | publish (queued; the caller publishes) | lost (end it).
local f = redis.call('HMGET', KEYS[1], 'status', 'first_token_at', 'attempts', 'queue')
if f[1] ~= 'running' then
  redis.call('ZREM', KEYS[3], ARGV[1])
  return 'gone'
end
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local left = redis.call('PTTL', KEYS[2])
if left ~= -2 then
  if left < 0 then left = tonumber(ARGV[3]) end
  redis.call('ZADD', KEYS[3], now_ms + left, ARGV[1])
  return 'alive'
end
if f[2] or tonumber(f[3] or '0') >= tonumber(ARGV[4]) then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
  redis.call('ZADD', KEYS[3], now_ms + tonumber(ARGV[3]), ARGV[1])
  return 'lost'
end
redis.call('HSET', KEYS[1], 'status', 'queued')
redis.call('ZREM', KEYS[3], ARGV[1])
if not f[4] then return 'requeued' end
redis.call('ZADD', KEYS[4], now_ms, ARGV[1])
redis.call('HDEL', KEYS[5], ARGV[1])
redis.call('ZREM', KEYS[6], ARGV[1])
if ARGV[5] == '' then return 'publish' end
redis.call('LPUSH', KEYS[7], ARGV[5])
return 'requeued'
