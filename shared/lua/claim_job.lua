-- A worker takes a job. Guards against running a job twice when its task is delivered twice.
-- KEYS[1] job hash, KEYS[2] lease; ARGV[1] worker id, ARGV[2] lease TTL ms, ARGV[3] now
-- Returns {state, spec, cancel requested, first token time}; state is one of
-- missing | finished | busy (another live worker holds it) | claimed | resumed (its worker died).
local fields = redis.call('HMGET', KEYS[1], 'status', 'spec', 'cancel', 'first_token_at')
local status = fields[1]
if not status then return {'missing'} end
if status ~= 'queued' and status ~= 'running' then return {'finished'} end
local state = 'claimed'
if status == 'running' then
  if redis.call('EXISTS', KEYS[2]) == 1 then return {'busy'} end
  state = 'resumed'
else
  redis.call('HSET', KEYS[1], 'status', 'running', 'started_at', ARGV[3])
end
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return {state, fields[2], fields[3] or '', fields[4] or ''}
