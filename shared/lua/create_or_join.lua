-- Start a cacheable job, or join the identical one already in flight, in one atomic step.
-- KEYS[1] in-flight key of the request, KEYS[2] the new job's hash, KEYS[3] broker list or '',
-- KEYS[4] queued-jobs index, KEYS[5..] the latest-jobs indexes the new job is listed in
-- ARGV[1], ARGV[2] what goes before and after a job id in a job's key, ARGV[3] the new job id,
-- ARGV[4] '1' when joining is allowed, ARGV[5] in-flight TTL ms, ARGV[6] job TTL s,
-- ARGV[7] broker message or '', ARGV[8] now (unix ms), ARGV[9] created at (unix s), ARGV[10]
-- the indexes' cap, ARGV[11] their TTL s, ARGV[12..] field/value pairs of the new job's hash.
-- Returns {job id to follow, its deadline (unix s)}: the new job's id and '' when it was
-- created. A job joins only while it runs and nobody asked to cancel it; its readers count
-- rises, so one reader leaving does not cancel it for the others.
-- include: recent_jobs.lua
local current = redis.call('GET', KEYS[1])
if current and ARGV[4] == '1' then
  local job = ARGV[1] .. current .. ARGV[2]
  local f = redis.call('HMGET', job, 'status', 'cancel', 'deadline_at')
  if (f[1] == 'queued' or f[1] == 'running') and not f[2] then
    redis.call('HINCRBY', job, 'readers', 1)
    return {current, f[3]}
  end
end
redis.call('HSET', KEYS[2], unpack(ARGV, 12))
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[5])
list_job(indexes_from(5), ARGV[3], ARGV[9], ARGV[10], ARGV[11])
if ARGV[7] ~= '' then
  redis.call('LPUSH', KEYS[3], ARGV[7])
  redis.call('ZADD', KEYS[4], ARGV[8], ARGV[3])
end
return {ARGV[3], ''}
