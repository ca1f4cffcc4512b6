"""The Lua scripts behind `RedisLimiter`: per-account counting semaphores with leases.

Pure text, no I/O. Every script runs atomically in Redis and takes one key, the
namespace's prefix ``{namespace}`` (a hash tag, so every key of a namespace
lives in one cluster slot). Under it::

    :caps           hash   email -> maxJobs (the shared capacity)
    :held:<email>   zset   lease -> expiry (ms, Redis clock): the slots taken
    :queue          zset   ticket -> sequence number: waiters, first come first served
    :seq            int    the next sequence number
    :waiters        zset   ticket -> expiry (ms): a waiter that stops renewing is dropped
    :want           hash   ticket -> {"e": [emails], "n": narrow or absent, "w": wake list}
    :wake:<process> list   tickets of that process that can now be served (it BLPOPs it)
    :woken:<ticket> string set while a wake-up is pending, so a ticket is pushed once
    :epoch          string set on first use: a new value means Redis lost its data
    :recovering     string set (with a TTL) when an old client sees a new epoch: no grants

Times come from Redis's own clock (``TIME``), so machines need not agree on one.
A lease is a ticket that was granted: the same random id names both.

Fairness: ``allocate`` walks the queue in order, giving each waiter the free
account it takes with the most free slots; a waiter is served only if every
earlier waiter that fits somewhere has been given a slot first. A waiter whose
accounts are all full does not hold back later waiters for other accounts; one
held back only by its own ``narrow`` limit makes later waiters skip that account
until it has drained enough (so it cannot starve). Grants are on paper until each
waiter asks again, so once a narrowed waiter fits an account, later waiters take
it only while that leaves room under the narrow limit: one woken first cannot
fill the account the narrowed one was woken for.

Restarts: the ``:epoch`` key is created with a fresh value whenever it is
missing. A client that saw another epoch knows Redis lost its leases: ACQUIRE
tells it so instead of granting, and its RENEW then puts every lease it holds
back (a normal RENEW only extends leases that still exist, so a renewal racing
a release cannot bring the released slot back). The first such client also
starts a recovery window (a renewal period) in which nothing is granted, so
every holder has put its leases back before anyone takes a slot again.
"""

from __future__ import annotations

from typing import Final

__all__ = ["ACQUIRE", "ADOPT", "LEAVE", "RELEASE", "RENEW", "SET_CAPS", "USAGE"]

_PRELUDE: Final = """
local p = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local function drop_ticket(ticket)
  redis.call('ZREM', p .. ':queue', ticket)
  redis.call('ZREM', p .. ':waiters', ticket)
  redis.call('HDEL', p .. ':want', ticket)
  redis.call('DEL', p .. ':woken:' .. ticket)
end

local function current_epoch()
  local epoch = redis.call('GET', p .. ':epoch')
  if not epoch then
    epoch = t[1] .. '.' .. t[2]
    redis.call('SET', p .. ':epoch', epoch)
  end
  return epoch
end

-- A client that knew the old epoch saw the new one: Redis lost its leases.
-- For `ms`, grant nothing, so the holders can put theirs back first.
local function start_recovery(ms)
  redis.call('SET', p .. ':recovering', 1, 'NX', 'PX', ms)
end

-- Expired leases and waiters go; returns free slots and slots held, per account.
local function purge()
  for _, dead in ipairs(redis.call('ZRANGEBYSCORE', p .. ':waiters', '-inf', now)) do
    drop_ticket(dead)
  end
  local caps = redis.call('HGETALL', p .. ':caps')
  local free, count = {}, {}
  for i = 1, #caps, 2 do
    local held = p .. ':held:' .. caps[i]
    redis.call('ZREMRANGEBYSCORE', held, '-inf', now)
    local n = redis.call('ZCARD', held)
    count[caps[i]] = n
    free[caps[i]] = tonumber(caps[i + 1]) - n
  end
  return free, count
end

-- Walk the queue in order, giving each waiter that fits a slot (on paper).
-- Returns the account `target` would get (false if none); with `wake_ms`,
-- every earlier waiter that fits is woken (and has that long to ask again).
local function allocate(free, count, target, wake_ms)
  local left = 0  -- free slots not yet given out on paper
  for _, f in pairs(free) do
    if f > 0 then
      left = left + f
    end
  end
  if left == 0 or redis.call('EXISTS', p .. ':recovering') == 1 then
    return false
  end
  local draining = {}  -- an account kept for an earlier waiter's narrow limit
  local limit = {}  -- account -> the narrow limit of an earlier waiter fitting it on paper
  for _, ticket in ipairs(redis.call('ZRANGE', p .. ':queue', 0, -1)) do
    local raw = redis.call('HGET', p .. ':want', ticket)
    local best = false
    local want = raw and cjson.decode(raw) or {e = {}}
    local narrow = want['n']
    local closest = false  -- the narrowed account nearest to fitting
    for _, email in ipairs(want['e']) do
      local f = free[email]
      local full = limit[email] and count[email] >= limit[email]
      if f and f > 0 and not draining[email] and not full then
        if narrow ~= nil and count[email] >= narrow then
          if not closest or count[email] < count[closest] then
            closest = email
          end
        elseif not best or f > free[best] or (f == free[best] and count[email] < count[best]) then
          best = email
        end
      end
    end
    if ticket == target then
      return best
    end
    if best then
      if narrow ~= nil and (not limit[best] or narrow < limit[best]) then
        limit[best] = narrow  -- it may ask after later waiters: keep it room
      end
      free[best] = free[best] - 1
      count[best] = count[best] + 1
      left = left - 1
      -- Wake it once (until it asks again), not at every change; a waiter
      -- that does not come back soon (its process died) leaves the line.
      local woken = p .. ':woken:' .. ticket
      if wake_ms and want['w'] and redis.call('SET', woken, 1, 'NX', 'PX', wake_ms) then
        local wake = p .. ':wake:' .. want['w']
        redis.call('RPUSH', wake, ticket)
        redis.call('PEXPIRE', wake, wake_ms)
        redis.call('ZADD', p .. ':waiters', 'XX', 'LT', now + wake_ms, ticket)
      end
      if left == 0 then
        return false
      end
    elseif closest then
      draining[closest] = true
    end
  end
  return false
end

-- After a slot frees (or a capacity grows): wake every waiter that now fits.
local function wake_fitting(wake_ms)
  local free, count = purge()
  allocate(free, count, false, wake_ms)
end
"""

ACQUIRE: Final = (
    _PRELUDE
    + """
-- ARGV: ticket, want (JSON), lease ms, waiter ms, default caps (JSON object),
-- the epoch the caller knows ('' if none), recovery ms, wake ms.
-- Returns {account or '', epoch, 1 if the epoch changed (nothing granted) else 0}.
local ticket = ARGV[1]
local epoch = current_epoch()
if ARGV[6] ~= '' and ARGV[6] ~= epoch then
  start_recovery(tonumber(ARGV[7]))
  return {'', epoch, 1}
end
for email, cap in pairs(cjson.decode(ARGV[5])) do
  redis.call('HSETNX', p .. ':caps', email, cap)
end
local free, count = purge()
-- A retried call whose first run took a slot gets that slot, not a second one.
for email, _ in pairs(count) do
  if redis.call('ZSCORE', p .. ':held:' .. email, ticket) then
    drop_ticket(ticket)
    return {email, epoch, 0}
  end
end
if not redis.call('ZSCORE', p .. ':queue', ticket) then
  redis.call('ZADD', p .. ':queue', redis.call('INCR', p .. ':seq'), ticket)
end
redis.call('HSET', p .. ':want', ticket, ARGV[2])
redis.call('ZADD', p .. ':waiters', now + tonumber(ARGV[4]), ticket)
redis.call('DEL', p .. ':woken:' .. ticket)  -- it is asking now: wake it again later
local account = allocate(free, count, ticket, tonumber(ARGV[8]))
if not account then
  return {'', epoch, 0}
end
drop_ticket(ticket)
redis.call('ZADD', p .. ':held:' .. account, now + tonumber(ARGV[3]), ticket)
return {account, epoch, 0}
"""
)

ADOPT: Final = (
    _PRELUDE
    + """
-- ARGV: email, lease, lease ms, default cap. A job already running on the
-- account (followed, not created, by this client) holds a slot whatever the
-- capacity: the server runs it anyway. Returns 1.
redis.call('HSETNX', p .. ':caps', ARGV[1], ARGV[4])
redis.call('ZADD', p .. ':held:' .. ARGV[1], now + tonumber(ARGV[3]), ARGV[2])
return 1
"""
)

RELEASE: Final = (
    _PRELUDE
    + """
-- ARGV: email, lease, wake ms. Returns 1 if the lease was still held.
local removed = redis.call('ZREM', p .. ':held:' .. ARGV[1], ARGV[2])
wake_fitting(tonumber(ARGV[3]))
return removed
"""
)

LEAVE: Final = (
    _PRELUDE
    + """
-- ARGV: ticket, wake ms. A waiter gives up (cancelled, failed); a slot its
-- lost answer had granted goes back too.
drop_ticket(ARGV[1])
for _, email in ipairs(redis.call('HKEYS', p .. ':caps')) do
  redis.call('ZREM', p .. ':held:' .. email, ARGV[1])
end
wake_fitting(tonumber(ARGV[2]))
return 1
"""
)

RENEW: Final = (
    _PRELUDE
    + """
-- ARGV: lease ms, the epoch the caller knows, recovery ms, default caps (JSON
-- object), then email, lease pairs. Leases that still exist are extended. If
-- Redis lost its data since (another epoch), every lease is put back (their jobs
-- still run, so they count), and the caps too where none is set.
-- Returns {leases that were missing, epoch, 1 if they were put back else 0}.
local epoch = current_epoch()
local restore = ARGV[2] ~= '' and ARGV[2] ~= epoch
if restore then
  start_recovery(tonumber(ARGV[3]))
  for email, cap in pairs(cjson.decode(ARGV[4])) do
    redis.call('HSETNX', p .. ':caps', email, cap)
  end
end
local lost = 0
for i = 5, #ARGV, 2 do
  local held = p .. ':held:' .. ARGV[i]
  local expiry = now + tonumber(ARGV[1])
  if redis.call('ZSCORE', held, ARGV[i + 1]) then
    redis.call('ZADD', held, 'XX', expiry, ARGV[i + 1])
  else
    lost = lost + 1
    if restore then
      redis.call('ZADD', held, expiry, ARGV[i + 1])
    end
  end
end
return {lost, epoch, restore and 1 or 0}
"""
)

SET_CAPS: Final = (
    _PRELUDE
    + """
-- ARGV: wake ms, then email, cap pairs. Waiters that now fit are woken.
for i = 2, #ARGV, 2 do
  redis.call('HSET', p .. ':caps', ARGV[i], ARGV[i + 1])
end
wake_fitting(tonumber(ARGV[1]))
return 1
"""
)

USAGE: Final = (
    _PRELUDE
    + """
-- Returns a flat list: email, cap, held, ... then the number of waiters last.
local free, count = purge()
local out = {}
local caps = redis.call('HGETALL', p .. ':caps')
for i = 1, #caps, 2 do
  table.insert(out, caps[i])
  table.insert(out, tonumber(caps[i + 1]))
  table.insert(out, count[caps[i]])
end
table.insert(out, redis.call('ZCARD', p .. ':queue'))
return out
"""
)
