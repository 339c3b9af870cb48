-- KEYS[1] lease; ARGV[1] worker id. Drops the lease only if it is the worker's.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
