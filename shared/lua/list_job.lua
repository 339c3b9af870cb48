-- Add a job to the latest-jobs indexes (its owner's and the gateway's), each capped and
-- kept for a while: one command, so listing a job costs its creation almost nothing.
-- KEYS: the indexes. ARGV[1] job id, ARGV[2] created at (unix s), ARGV[3] cap, ARGV[4] TTL (s).
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, ARGV[2], ARGV[1])
  redis.call('ZREMRANGEBYRANK', key, 0, -(tonumber(ARGV[3]) + 1))
  redis.call('EXPIRE', key, ARGV[4])
end
return 1
