-- Included by the scripts that create a job (shared.lua.lua_source): add a job to the
-- latest-jobs indexes (its owner's and the gateway's), each capped and kept for a while.
local function list_job(indexes, job_id, created_at, cap, ttl_s)
  for _, key in ipairs(indexes) do
    redis.call('ZADD', key, created_at, job_id)
    redis.call('ZREMRANGEBYRANK', key, 0, -(tonumber(cap) + 1))
    redis.call('EXPIRE', key, ttl_s)
  end
end

-- KEYS from ``first`` on: the indexes a job is listed in (none for an unlisted job).
local function indexes_from(first)
  local indexes = {}
  for i = first, #KEYS do
    indexes[#indexes + 1] = KEYS[i]
  end
  return indexes
end

