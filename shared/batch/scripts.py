"""The Lua scripts of the batch store, each one atomic step on one batch's keys."""

from __future__ import annotations

# KEYS[1] batch hash, KEYS[2] set of active batches
# ARGV[1] new status, ARGV[2] the statuses it may come from (space-separated), ARGV[3] 1 when
# the new status ends the batch, ARGV[4] TTL s of an ended batch, ARGV[5] batch id,
# ARGV[6..] field/value pairs set with it. Returns {moved, status before} ({0, ''}: no batch).
TRANSITION = """
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
"""

# KEYS[1] results hash, KEYS[2] batch hash
# ARGV[1] line, ARGV[2] its record, ARGV[3] counter to raise ('completed' or 'failed'),
# ARGV[4] TTL s of the results, ARGV[5..] usage name/increment pairs.
# Returns 1 when recorded, 0 when the line already was, -1 when the batch has ended.
RECORD_RESULT = """
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
"""

# KEYS[1] lease; ARGV[1] worker id, ARGV[2] TTL ms. Extends the lease only if it is the worker's.
LEASE_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# KEYS[1] lease; ARGV[1] worker id. Drops the lease only if it is the worker's.
LEASE_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
