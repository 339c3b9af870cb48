-- Charge usage on its own, not with a job's last event: a request answered from the cache,
-- one that joined another's job.
-- ARGV[1] the charge (JSON, see charge)
-- include: charge.lua
charge(ARGV[1])
return 1
