-- A circuit breaker for one (provider, model), shared by every worker. Uses Redis time.
-- KEYS[1] state hash, KEYS[2] failure times (sorted set)
-- ARGV[1] op: allow | failure | success
-- ARGV[2] failure threshold, ARGV[3] window s, ARGV[4] open s, ARGV[5] probe timeout s
-- ARGV[6] channel told of every state change, ARGV[7] the circuit's name in that message
-- allow returns closed | probe (the caller is the one trial request) | open (skip it);
-- failure and success return the state after the report.
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local op, threshold = ARGV[1], tonumber(ARGV[2])
local window, open_s, probe_s = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
local keep_s = math.ceil(window + open_s + probe_s) * 10

local function set(new_state, field, value)
  redis.call('HSET', KEYS[1], 'state', new_state, field, value)
  redis.call('EXPIRE', KEYS[1], keep_s)
  if new_state ~= state then
    redis.call('PUBLISH', ARGV[6], ARGV[7] .. '=' .. new_state)
  end
  return new_state
end

if op == 'allow' then
  if state == 'closed' then return 'closed' end
  local since = tonumber(redis.call('HGET', KEYS[1], 'since') or '0')
  if (state == 'open' and now >= since + open_s) or (state == 'half_open' and now >= since) then
    set('half_open', 'since', now + probe_s)  -- 'since' of half_open: when the probe expires
    return 'probe'
  end
  return 'open'
elseif op == 'failure' then
  redis.call('ZADD', KEYS[2], now, tostring(now) .. ':' .. tostring(math.random()))
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  redis.call('EXPIRE', KEYS[2], math.ceil(window))
  if state == 'half_open' or (state == 'closed' and redis.call('ZCARD', KEYS[2]) >= threshold) then
    return set('open', 'since', now)
  end
  return state
else
  if state ~= 'closed' then
    redis.call('DEL', KEYS[2])
    return set('closed', 'since', now)
  end
  return 'closed'
end
