-- Admit one request against a key's limits, all or nothing, on Redis time (exact across any
-- number of gateways). GCRA for requests and tokens per minute; a set of running jobs for
-- concurrency, each member scored by its deadline so a job that never ends frees its slot.
-- KEYS[1] requests TAT, KEYS[2] tokens TAT, KEYS[3] running jobs (sorted set)
-- ARGV[1] requests/min (0: none), ARGV[2] tokens/min (0: none), ARGV[3] token estimate,
-- ARGV[4] concurrent jobs (0: none), ARGV[5] job id, ARGV[6] job deadline (unix s)
-- Returns {admitted 1|0, refused by ('' | requests | tokens | concurrency), retry after s,
--          requests remaining, requests reset s, tokens remaining, tokens reset s}
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local PERIOD = 60.0

local function gcra(key, limit, cost)
  -- returns allowed, new TAT, retry after, remaining, reset
  if limit <= 0 then return true, nil, 0, -1, 0 end
  local interval = PERIOD / limit
  local tat = tonumber(redis.call('GET', key) or '0')
  local new_tat = math.max(tat, now) + cost * interval
  local over = new_tat - now - PERIOD
  if over > 0 then
    local remaining = math.floor((PERIOD - (math.max(tat, now) - now)) / interval)
    return false, nil, over, math.max(remaining, 0), math.max(tat, now) - now
  end
  return true, new_tat, 0, math.floor((PERIOD - (new_tat - now)) / interval), new_tat - now
end

local rpm, tpm, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local max_jobs = tonumber(ARGV[4])
local ok_r, tat_r, wait_r, left_r, reset_r = gcra(KEYS[1], rpm, 1)
local ok_t, tat_t, wait_t, left_t, reset_t = gcra(KEYS[2], tpm, math.min(cost, math.max(tpm, 1)))
local refused, wait = '', 0
if not ok_r then refused, wait = 'requests', wait_r
elseif not ok_t then refused, wait = 'tokens', wait_t
elseif max_jobs > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  if redis.call('ZCARD', KEYS[3]) >= max_jobs then refused, wait = 'concurrency', 1 end
end
if refused ~= '' then
  return {0, refused, tostring(wait), left_r, tostring(reset_r), left_t, tostring(reset_t)}
end
if tat_r then redis.call('SET', KEYS[1], tostring(tat_r), 'EX', math.ceil(PERIOD * 2)) end
if tat_t then redis.call('SET', KEYS[2], tostring(tat_t), 'EX', math.ceil(PERIOD * 2)) end
if max_jobs > 0 then
  redis.call('ZADD', KEYS[3], tonumber(ARGV[6]), ARGV[5])
  redis.call('EXPIRE', KEYS[3], math.ceil(tonumber(ARGV[6]) - now) + 60)
end
return {1, '', '0', left_r, tostring(reset_r), left_t, tostring(reset_t)}
