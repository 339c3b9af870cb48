-- KEYS[1] batch hash, KEYS[2] set of active batches
-- ARGV[1] new status, ARGV[2] the statuses it may come from (space-separated), ARGV[3] 1 when
-- the new status ends the batch, ARGV[4] TTL s of an ended batch, ARGV[5] batch id,
-- ARGV[6..] field/value pairs set with it. Returns {moved, status before} ({0, ''}: no batch).
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {0, ''} end
if not string.find(' ' .. ARGV[2] .. ' ', ' ' .. status .. ' ', 1, true) then
  return {0, status}
end
redis.call('HSET', KEYS[1], 'status', ARGV[1])
if #ARGV > 5 then redis.call('HSET', KEYS[1], unpack(ARGV, 6)) end
if ARGV[3] == '1' then
  redis.call('SREM', KEYS[2], ARGV[5])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
return {1, status}
