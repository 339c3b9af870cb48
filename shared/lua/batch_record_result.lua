-- KEYS[1] results hash, KEYS[2] batch hash
-- ARGV[1] line, ARGV[2] its record, ARGV[3] counter to raise ('completed' or 'failed'),
-- ARGV[4] TTL s of the results, ARGV[5..] usage name/increment pairs.
-- Returns 1 when recorded, 0 when the line already was, -1 when the batch has ended.
local status = redis.call('HGET', KEYS[2], 'status')
if not status or status == 'completed' or status == 'failed' or status == 'expired'
    or status == 'cancelled' then
  return -1
end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
for i = 5, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[2], 'usage_' .. ARGV[i], ARGV[i + 1])
end
return 1
