-- Append one event to a job: assign the next seq, store it, publish it, all or nothing.
-- KEYS[1] job hash, KEYS[2] event stream
-- ARGV[1] channel, ARGV[2] event JSON without seq (starts with '{'),
-- ARGV[3] terminal status to set, or '', ARGV[4] status the job must be in, or '',
-- ARGV[5] stream cap, ARGV[6] result TTL s, ARGV[7] events TTL s, ARGV[8] prefix of the
-- owners' running-jobs sets, ARGV[9] job id, ARGV[10..] field/value pairs to set on the job
-- hash with the event. The job's last event also frees its owner's concurrency slot.
-- Returns the seq, 0 when the job has already ended (or is not in ARGV[4]), -1 when unknown.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return -1 end
if status == 'succeeded' or status == 'failed' or status == 'cancelled' then return 0 end
if ARGV[4] ~= '' and status ~= ARGV[4] then return 0 end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local payload = '{"seq":' .. seq .. ',' .. string.sub(ARGV[2], 2)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '0-' .. seq, 'e', payload)
if seq == 1 then
  redis.call('PEXPIRE', KEYS[2], redis.call('PTTL', KEYS[1]))
end
if #ARGV > 9 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 10))
end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'status', ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[6])
  redis.call('EXPIRE', KEYS[2], ARGV[7])
  local owner = cjson.decode(redis.call('HGET', KEYS[1], 'spec'))['owner']
  redis.call('ZREM', ARGV[8] .. owner .. ':jobs', ARGV[9])
end
redis.call('PUBLISH', ARGV[1], payload)
return seq
