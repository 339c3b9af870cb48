-- A worker gives up a job it can no longer run (it lost Redis before anything was streamed):
-- its lease goes and its index entry says so, so the next recovery tick queues it again.
-- KEYS[1] lease, KEYS[2] leased-jobs index; ARGV[1] worker id, ARGV[2] job id.
-- Returns 1 when given up, 0 when the lease was not this worker's.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZADD', KEYS[2], 'XX', 0, ARGV[2])
return 1
