-- Ask for a job to be cancelled: flag it and tell every worker. Returns the job's status
-- before the request, 'missing', or 'shared' when a reader left a job others still read.
-- The caller ends a still-queued job itself.
-- KEYS[1] job hash; ARGV[1] workers' cancel channel, ARGV[2] job id, ARGV[3] '1' when a
-- reader is leaving (cancel only if it was the last one) rather than asking outright.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status == 'succeeded' or status == 'failed' or status == 'cancelled' then return status end
if ARGV[3] == '1' and redis.call('HINCRBY', KEYS[1], 'readers', -1) > 0 then
  return 'shared'
end
redis.call('HSET', KEYS[1], 'cancel', '1')
redis.call('PUBLISH', ARGV[1], ARGV[2])
return status
