"""Lua scripts that apply one event to one entity (a queue or an agent), atomically.

Why Lua: an event changes several keys (call hash, waiting set, interval and day counters, the
dedup set); a script makes that all-or-nothing and costs one round trip. Each script touches
the keys of a single entity only (one hash tag), so it also runs on Redis Cluster.

Both scripts start with the dedup set: ``SADD`` returning 0 means the event was applied before
(at-least-once delivery), and nothing changes. A rejected event is removed from the set again so
the state is exactly as before.

Redis Lua numbers are doubles: epoch milliseconds (≈1.7e12) are exact, but ``tostring`` would
print them in exponent form, so key suffixes are formatted with ``%d``.
"""

# Clear "touched" marks only where the interval has not changed again since it was read for
# archiving (the mark is a change counter): a change in between keeps it for the next run.
UNMARK_TOUCHED = r"""
local n = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    redis.call('HDEL', KEYS[1], ARGV[i])
    n = n + 1
  end
end
return n
"""

# Mark agents changed with a new version, so each engine tick re-reads only those (the set holds
# at most one entry per agent, so it never grows beyond the roster).
MARK_AGENTS_CHANGED = r"""
local v = redis.call('INCR', KEYS[1])
for i = 1, #ARGV do
  redis.call('ZADD', KEYS[2], v, ARGV[i])
end
return v
"""

# Read many agents in one call: KEYS are (live, interval, day) triples; ARGV the number of live
# fields, the live fields, the number of interval fields, those fields, then the day fields.
# One script call with fixed fields instead of three commands per agent, because at 10,000
# agents the per-command and per-field costs dominate the tick. (On Redis Cluster the keys span
# slots; see docs/architecture.md.)
READ_AGENTS = r"""
local n_live = tonumber(ARGV[1])
local live_f = {unpack(ARGV, 2, 1 + n_live)}
local n_iv = tonumber(ARGV[2 + n_live])
local iv_f = {unpack(ARGV, 3 + n_live, 2 + n_live + n_iv)}
local day_f = {unpack(ARGV, 3 + n_live + n_iv)}
-- Counters go back as integers (0 when absent): the client then has nothing to convert.
local function ints(values)
  for j = 1, #values do values[j] = tonumber(values[j]) or 0 end
  return values
end
local out = {}
for i = 1, #KEYS, 3 do
  out[#out + 1] = redis.call('HMGET', KEYS[i], unpack(live_f))
  out[#out + 1] = ints(redis.call('HMGET', KEYS[i + 1], unpack(iv_f)))
  out[#out + 1] = ints(redis.call('HMGET', KEYS[i + 2], unpack(day_f)))
end
return out
"""

# Shared by both apply scripts: add ``fields`` (name, amount, …) to an interval and a day hash.
# HINCRBY returns the increment itself only when it created the field: (re)arm the TTL then, not
# on every event (a key's first field is always new, so every key gets its TTL).
_ADD_COUNTERS = r"""
local function add_counters(ivk, dk, fields, counter_ttl)
  local new_iv, new_day = false, false
  for i = 1, #fields, 2 do
    local inc = tonumber(fields[i + 1])
    if redis.call('HINCRBY', ivk, fields[i], inc) == inc then new_iv = true end
    if redis.call('HINCRBY', dk, fields[i], inc) == inc then new_day = true end
  end
  if new_iv then redis.call('EXPIRE', ivk, counter_ttl) end
  if new_day then redis.call('EXPIRE', dk, counter_ttl) end
end
"""

QUEUE_APPLY = _ADD_COUNTERS + r"""
local seen, callk, waiting, touched = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local op, id, ts = ARGV[1], ARGV[2], tonumber(ARGV[3])
local call, agent = ARGV[4], ARGV[5]
local qp = ARGV[8]
local t_ms, s_ms, amount_ms = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
local counter_ttl, seen_ttl, call_ttl = tonumber(ARGV[12]), tonumber(ARGV[13]), tonumber(ARGV[14])

local function bump(iv, day, fields)
  local ivk = qp .. ':iv:' .. iv
  local dk = qp .. ':day:' .. day
  add_counters(ivk, dk, fields, counter_ttl)
  redis.call('HINCRBY', touched, iv, 1)
end

if redis.call('SADD', seen, id) == 0 then
  local c = redis.call('HMGET', callk, 'talk_ms', 'hold_ms')
  return {'dup', c[1] or '0', c[2] or '0'}
end
redis.call('EXPIRE', seen, seen_ttl)
local function reject(reason)
  redis.call('SREM', seen, id)
  return {'bad', reason}
end

if op == 'queued' then
  if redis.call('EXISTS', callk) == 1 then
    return reject('call ' .. call .. ' was already queued')
  end
  redis.call('HSET', callk, 'status', 'waiting', 'enter_ms', ARGV[3], 'iv', ARGV[6], 'day', ARGV[7])
  redis.call('EXPIRE', callk, call_ttl)
  redis.call('ZADD', waiting, ts, call)
  bump(ARGV[6], ARGV[7], {'offered', 1})
  return {'ok'}
end

local c = redis.call('HMGET', callk, 'status', 'enter_ms', 'iv', 'day', 'answer_ms')
local status = c[1]
if not status then
  return reject('call ' .. call .. ' was never queued in this queue')
end
local enter, iv, day = tonumber(c[2]), c[3], c[4]

if op == 'answered' or op == 'abandoned' or op == 'missed' then
  if status ~= 'waiting' then
    return reject('call ' .. call .. ' is ' .. status .. ', not waiting')
  end
  if ts < enter then
    return reject('event is earlier than the call entered the queue')
  end
end

if op == 'answered' then
  local wait = ts - enter
  redis.call('HSET', callk, 'status', 'answered', 'answer_ms', ARGV[3], 'agent', agent)
  redis.call('ZREM', waiting, call)
  local f = {'answered', 1, 'wait_answered_ms', wait}
  if wait <= t_ms then f[#f + 1] = 'answered_within_t'; f[#f + 1] = 1 end
  bump(iv, day, f)
  return {'ok', string.format('%d', wait)}
elseif op == 'abandoned' then
  local wait = ts - enter
  redis.call('HSET', callk, 'status', 'abandoned', 'end_ms', ARGV[3])
  redis.call('ZREM', waiting, call)
  local f = {'abandoned', 1, 'wait_abandoned_ms', wait}
  if wait <= s_ms then f[#f + 1] = 'abandoned_short'; f[#f + 1] = 1 end
  if wait <= t_ms then f[#f + 1] = 'abandoned_within_t'; f[#f + 1] = 1 end
  bump(iv, day, f)
  return {'ok'}
elseif op == 'missed' then
  bump(iv, day, {'missed', 1})
  return {'ok'}
elseif op == 'ended' or op == 'transferred' then
  if status ~= 'answered' then
    return reject('call ' .. call .. ' is ' .. status .. ', not answered')
  end
  local answer = tonumber(c[5])
  if ts < answer then
    return reject('call ends before it was answered')
  end
  local hold = amount_ms
  if hold > ts - answer then
    return reject('hold_s is longer than the call')
  end
  local talk = ts - answer - hold
  redis.call('HSET', callk, 'status', op, 'end_ms', ARGV[3], 'talk_ms', talk, 'hold_ms', hold)
  local f = {'handled', 1, 'talk_ms', talk, 'hold_ms', hold}
  if op == 'transferred' then f[#f + 1] = 'transfers'; f[#f + 1] = 1 end
  bump(iv, day, f)
  return {'ok', string.format('%d', talk), string.format('%d', hold)}
elseif op == 'acw' then
  redis.call('HINCRBY', callk, 'acw_ms', amount_ms)
  bump(iv, day, {'acw_ms', amount_ms})
  return {'ok'}
end
return reject('unknown operation ' .. op)
"""

AGENT_APPLY = _ADD_COUNTERS + r"""
local seen, live, touched = KEYS[1], KEYS[2], KEYS[3]
local op, id, ts = ARGV[1], ARGV[2], tonumber(ARGV[3])
local ap = ARGV[4]
local ivlen, off = tonumber(ARGV[5]), tonumber(ARGV[6])
local counter_ttl, seen_ttl = tonumber(ARGV[7]), tonumber(ARGV[8])
-- Time in a state is counted for at most this long: a lost logout event must not make an
-- agent "available" for a week.
local MAX_SPAN_MS = 86400000

local function day_of(t)
  -- Local civil date of epoch-ms t (offset off), by the days-from-civil inverse.
  local z = math.floor((t + off) / 86400000) + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524)
    - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return string.format('%04d-%02d-%02d', y, m, d)
end

local function iv_of(t)
  return math.floor((t + off) / ivlen) * ivlen - off
end

local function count(t, fields)
  local iv = iv_of(t)
  local ivk = ap .. ':iv:' .. string.format('%d', iv)
  local dk = ap .. ':day:' .. day_of(t)
  add_counters(ivk, dk, fields, counter_ttl)
  redis.call('HINCRBY', touched, string.format('%d', iv), 1)
end

local function add_time(field, from, to)
  local t = math.max(from, to - MAX_SPAN_MS)
  while t < to do
    local stop = math.min(iv_of(t) + ivlen, to)
    count(t, {field, stop - t})
    t = stop
  end
end

if redis.call('SADD', seen, id) == 0 then
  return {'dup'}
end
redis.call('EXPIRE', seen, seen_ttl)

if op == 'state' then
  local state, reason, queues = ARGV[9], ARGV[10], ARGV[11]
  local cur = redis.call('HMGET', live, 'state', 'reason', 'since_ms', 'last_call', 'last_queue')
  local since = tonumber(cur[3])
  if since and ts < since then
    redis.call('SREM', seen, id)
    return {'bad', 'older than the agent\'s current state (since ' .. cur[3] .. ' ms)'}
  end
  local result = {'ok'}
  if cur[1] and cur[1] ~= 'logged_out' then
    local field = 's:' .. cur[1]
    if cur[1] == 'aux' and cur[2] and cur[2] ~= '' then field = field .. ':' .. cur[2] end
    add_time(field, since, ts)
    if cur[1] == 'acw' and cur[4] and cur[4] ~= '' then
      -- The ACW that follows a call belongs to that call's queue and interval.
      result = {'ok', string.format('%d', ts - since), cur[5], cur[4]}
      redis.call('HSET', live, 'last_call', '')
    end
  end
  redis.call('HSET', live, 'state', state, 'reason', reason, 'since_ms', ARGV[3])
  if queues ~= '' then redis.call('HSET', live, 'queues', queues) end
  local tl = ap .. ':timeline:' .. day_of(ts)
  redis.call('RPUSH', tl, cjson.encode({ts, state, reason}))
  redis.call('EXPIRE', tl, counter_ttl)
  return result
end

local call, queue = ARGV[9], ARGV[10]
if op == 'answered' then
  redis.call('HSET', live, 'call', call, 'call_queue', queue)
  count(ts, {'answered', 1})
elseif op == 'ended' or op == 'transferred' then
  local f = {'handled', 1, 'talk_ms', tonumber(ARGV[11]), 'hold_ms', tonumber(ARGV[12])}
  if op == 'transferred' then f[#f + 1] = 'transfers'; f[#f + 1] = 1 end
  count(ts, f)
  redis.call('HSET', live, 'call', '', 'call_queue', '', 'last_call', call, 'last_queue', queue)
elseif op == 'missed' then
  count(ts, {'missed', 1})
else
  redis.call('SREM', seen, id)
  return {'bad', 'unknown operation ' .. op}
end
return {'ok'}
"""
