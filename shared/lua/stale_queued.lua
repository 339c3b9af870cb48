-- Queued jobs that no live worker took: their task sat in a dead worker's prefetch (delivered,
-- unacknowledged, never claimed) or is gone (the broker lost it in a restart; a worker died
-- between popping it and recording the delivery). A job whose task still waits in its queue
-- is left alone: kombu pops the oldest first, so a job enqueued well before the oldest task
-- still waiting is not waiting. Only the jobs enqueued before ARGV[1] are looked at.
-- KEYS[1] queued-jobs index, KEYS[2] broker's unacked hash
-- ARGV[1] enqueued before (unix ms), ARGV[2] clock margin ms, ARGV[3] at most this many,
-- ARGV[4], ARGV[5] what goes before and after a job id in its hash key.
-- Returns {id, queue, ...} of the jobs to enqueue again; drops jobs that left the queued state.
local rows = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0,
  ARGV[3])
local found = {}
for i = 1, #rows, 2 do
  local id, score = rows[i], tonumber(rows[i + 1])
  local f = redis.call('HMGET', ARGV[4] .. id .. ARGV[5], 'status', 'queue')
  if f[1] ~= 'queued' or not f[2] then
    redis.call('ZREM', KEYS[1], id)
  else
    local lost = redis.call('HEXISTS', KEYS[2], id) == 1
    if not lost then
      local oldest = redis.call('LINDEX', f[2], -1)
      if not oldest then
        lost = true
      else
        local ok, message = pcall(cjson.decode, oldest)
        local oid = ok and type(message) == 'table' and type(message.headers) == 'table'
          and message.headers.id
        if oid and oid ~= id then
          local oscore = redis.call('ZSCORE', KEYS[1], oid)
          lost = oscore ~= false and tonumber(oscore) > score + tonumber(ARGV[2])
        end
      end
    end
    if lost then
      found[#found + 1] = id
      found[#found + 1] = f[2]
    end
  end
end
return found
