-- Ask for a job to be cancelled: flag it and tell every worker. Returns the job's status
-- before the request, or 'missing'. The caller ends a still-queued job itself.
-- KEYS[1] job hash; ARGV[1] workers' cancel channel, ARGV[2] job id
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status == 'succeeded' or status == 'failed' or status == 'cancelled' then return status end
redis.call('HSET', KEYS[1], 'cancel', '1')
redis.call('PUBLISH', ARGV[1], ARGV[2])
return status
