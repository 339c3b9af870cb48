-- Enqueue a queued job's task again (see stale_queued.lua), unless a worker claimed it or
-- another recovery re-enqueued it meanwhile. Its unacknowledged delivery, if any, is dropped:
-- the worker holding it is taken for dead.
-- KEYS[1] job hash, KEYS[2] queued-jobs index, KEYS[3] broker's unacked hash, KEYS[4] its
-- index, KEYS[5] the queue; ARGV[1] job id, ARGV[2] the task message, ARGV[3] enqueued before
-- (unix ms, as the job was found), ARGV[4] now (unix ms). Returns 1 when enqueued, else 0.
if redis.call('HGET', KEYS[1], 'status') ~= 'queued' then return 0 end
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[3]) then return 0 end
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('LPUSH', KEYS[5], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
return 1
