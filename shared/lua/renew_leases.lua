-- A worker renews the leases of the jobs it runs, and learns which of them to stop.
-- KEYS[1] leased-jobs index, then per job: its hash, its lease.
-- ARGV[1] worker id, ARGV[2] lease TTL ms, ARGV[3..] the job ids (in the order of KEYS).
-- Returns {ids flagged for cancelling, ids running under a lease this worker no longer holds}:
-- one that lapsed (Redis was away longer than the lease) may be another worker's now. A job
-- not claimed yet (queued) or ended is neither.
local t = redis.call('TIME')
local until_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[2])
local flagged, lost = {}, {}
for i = 3, #ARGV do
  local id, job, lease = ARGV[i], KEYS[2 * (i - 2)], KEYS[2 * (i - 2) + 1]
  if redis.call('GET', lease) == ARGV[1] then
    redis.call('PEXPIRE', lease, ARGV[2])
    redis.call('ZADD', KEYS[1], 'XX', until_ms, id)
    if redis.call('HGET', job, 'cancel') then flagged[#flagged + 1] = id end
  elseif redis.call('HGET', job, 'status') == 'running' then
    lost[#lost + 1] = id
  end
end
return {flagged, lost}
