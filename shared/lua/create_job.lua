-- Store a new job in one atomic step: queued (and pushed to its broker list) or already
-- finished with its events (answered from the cache), listed among the latest jobs.
-- KEYS[1] the job's hash, KEYS[2] its event stream, KEYS[3] the broker list or '', KEYS[4]
-- the queued-jobs index, KEYS[5..] the latest-jobs indexes it is listed in (none: unlisted)
-- ARGV[1] job id, ARGV[2] '1' to refuse an id in use (one a client chose), ARGV[3] the hash's
-- TTL s, ARGV[4] broker message or '', ARGV[5] now (unix ms), ARGV[6] created at (unix s),
-- ARGV[7] the indexes' cap, ARGV[8] their TTL s, ARGV[9] the event stream's TTL s, ARGV[10]
-- n: events already stored (stream id, event) pairs, then field/value pairs of the hash.
-- Returns 1, or 0 when the id is in use (the hash or the event stream exists).
-- include: recent_jobs.lua
if ARGV[2] == '1' and redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then
  return 0
end
local events_end = 10 + 2 * tonumber(ARGV[10])
redis.call('HSET', KEYS[1], unpack(ARGV, events_end + 1))
redis.call('EXPIRE', KEYS[1], ARGV[3])
if events_end > 10 then
  for i = 11, events_end, 2 do
    redis.call('XADD', KEYS[2], ARGV[i], 'e', ARGV[i + 1])
  end
  redis.call('EXPIRE', KEYS[2], ARGV[9])
end
list_job(indexes_from(5), ARGV[1], ARGV[6], ARGV[7], ARGV[8])
if ARGV[4] ~= '' then
  redis.call('LPUSH', KEYS[3], ARGV[4])
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
end
return 1
