-- Append events to a job: assign the next seqs, store them, publish them (one message, one
-- event per line), all or nothing.
-- KEYS[1] job hash, KEYS[2] event stream, KEYS[3] its lease, KEYS[4] leased-jobs index,
-- KEYS[5] queued-jobs index
-- ARGV[1] channel, ARGV[2] the events' JSON without seq (each starts with '{'), one per line
-- (compact JSON holds no raw newline); the status, fields and charge go with the last,
-- ARGV[3] terminal status to set, or '', ARGV[4] status the job must be in, or '',
-- ARGV[5] stream cap, ARGV[6] result TTL s, ARGV[7] events TTL s, ARGV[8] prefix of the
-- owners' running-jobs sets, ARGV[9] job id, ARGV[10] the worker that must hold the job's
-- lease, or '' (a worker whose lease lapsed may have been replaced: its appends are refused),
-- ARGV[11] the usage to charge with the job's last event (JSON, see charge), or '',
-- ARGV[12..] field/value pairs to set on the job hash with the event.
-- The job's last event also frees its owner's concurrency slot and leaves the job indexes, and
-- its usage is charged in the same step: a crash between the two cannot lose it.
-- Returns the last seq, 0 when the job has already ended (or is not in ARGV[4], or the lease is
-- not ARGV[10]'s), -1 when unknown.
-- A job that succeeds with a cache_key field stores its answer (see store_answer); a job that
-- ends frees its in-flight key, so identical requests stop joining it. A job with a notify
-- field is published on that channel too.

-- The answer's events and result under the job's cache_key, unless the stream was trimmed (not
-- the whole answer) or the entry would pass cache_max_bytes. Fallbacks are left out.
local function store_answer(seq)
  local f = redis.call('HMGET', KEYS[1], 'cache_key', 'cache_ttl_s', 'cache_max_bytes',
    'provider', 'provider_model', 'result', 'usage', 'cost')
  if not (f[1] and f[7]) then return end
  local entries = redis.call('XRANGE', KEYS[2], '-', '+')
  if #entries ~= seq then return end
  local limit, size, parts = tonumber(f[3]), 0, {}
  for _, entry in ipairs(entries) do
    local e = entry[2][2]
    if not string.find(string.sub(e, 1, 40), '"type":"fallback"', 1, true) then
      size = size + #e + 1
      if size > limit then return end
      parts[#parts + 1] = e
    end
  end
  local t = redis.call('TIME')
  redis.call('SET', f[1], '{"stored_at":' .. t[1] .. '.' .. string.format('%06d', t[2])
    .. ',"provider":' .. cjson.encode(f[4]) .. ',"provider_model":' .. cjson.encode(f[5])
    .. ',"result":' .. (f[6] or 'null') .. ',"usage":' .. f[7] .. ',"cost":' .. (f[8] or 'null')
    .. ',"events":[' .. table.concat(parts, ',') .. ']}', 'EX', f[2])
end

-- include: charge.lua

local job = redis.call('HMGET', KEYS[1], 'status', 'notify')
local status, notify = job[1], job[2]
if not status then return -1 end
if status == 'succeeded' or status == 'failed' or status == 'cancelled' then return 0 end
if ARGV[4] ~= '' and status ~= ARGV[4] then return 0 end
if ARGV[10] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[10] then return 0 end
local bodies, from = {}, 1
while true do
  local newline = string.find(ARGV[2], '\n', from, true)
  if not newline then
    bodies[#bodies + 1] = string.sub(ARGV[2], from)
    break
  end
  bodies[#bodies + 1] = string.sub(ARGV[2], from, newline - 1)
  from = newline + 1
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', #bodies) - #bodies
local payloads = {}
for i, body in ipairs(bodies) do
  seq = seq + 1
  payloads[i] = '{"seq":' .. seq .. ',' .. string.sub(body, 2)
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '0-' .. seq, 'e', payloads[i])
  if seq == 1 then
    redis.call('PEXPIRE', KEYS[2], redis.call('PTTL', KEYS[1]))
  end
end
if #ARGV > 11 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 12))
end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'status', ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[6])
  redis.call('EXPIRE', KEYS[2], ARGV[7])
  -- A job stored before the owner field existed has it only in its spec.
  local owner = redis.call('HGET', KEYS[1], 'owner')
    or cjson.decode(redis.call('HGET', KEYS[1], 'spec'))['owner']
  redis.call('ZREM', ARGV[8] .. owner .. ':jobs', ARGV[9])
  redis.call('ZREM', KEYS[4], ARGV[9])
  redis.call('ZREM', KEYS[5], ARGV[9])
  redis.call('DEL', KEYS[3])
  if ARGV[11] ~= '' then charge(ARGV[11]) end
  if ARGV[3] == 'succeeded' then store_answer(seq) end
  local inflight = redis.call('HGET', KEYS[1], 'inflight')
  if inflight and redis.call('GET', inflight) == ARGV[9] then redis.call('DEL', inflight) end
end
local message = table.concat(payloads, '\n')
redis.call('PUBLISH', ARGV[1], message)
-- The job's creator follows it on its gateway's hub channel (gateway/hub.py), after the job's.
if notify then redis.call('PUBLISH', notify, ARGV[1] .. '\n' .. message) end
return seq
