"""Lua scripts: applying events atomically and idempotently, and the tick's batched reads.

Why Lua: an event changes several keys (call hash, waiting set, interval and day counters, the
dedup set); a script makes that all-or-nothing and costs no round trip of its own. The
aggregator applies a whole batch of events in one script call (``APPLY_BATCH``), because at
thousands of events per second the cost is the number of Redis commands, not the number of
calls: what many events of a batch share (counter increments, TTLs, "touched" marks, the entry
telling the engine what changed) is written once per batch.

Every apply starts with the entity's dedup set: ``SADD`` returning 0 means the event was applied
before (at-least-once delivery), and nothing changes. A rejected event is removed from the set
again so the state is exactly as before.

Redis Lua numbers are doubles: epoch milliseconds (≈1.7e12) are exact, but ``tostring`` would
print them in exponent form, so key suffixes and values are formatted with ``%d``.
"""

from realtime.live import AGENT_TICK_DAY_FIELDS, AGENT_TICK_INTERVAL_FIELDS

# Append raw payloads to the events stream in one call: KEYS[1] the stream; ARGV the stream's
# approximate maximum length, the source, then the payloads. One command instead of one per
# payload: at thousands of events per second the client's per-command cost was ten times
# Redis's own. The stream is one key, so this is one hash slot on a cluster too.
APPEND_EVENTS = r"""
local stream, maxlen, src = KEYS[1], ARGV[1], ARGV[2]
for i = 3, #ARGV do
  redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', 'src', src, 'raw', ARGV[i])
end
return #ARGV - 2
"""

# Newest event time per source (lateness): a monotonic max, so several writers never move it
# backwards.
NEWEST_BY_SOURCE = r"""
local c = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > c then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
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

# Tell the engine these agents changed outside the apply script: an entry of the changes stream
# under a new version, listing agents the engine reads again ('r': the agent ids as JSON).
MARK_AGENTS_CHANGED = r"""
if #ARGV == 0 then return redis.call('GET', KEYS[1]) end
local v = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 'CHANGES_KEEP', string.format('%d-0', v), 'r', cjson.encode(ARGV))
return v
"""

# Read many agents in one call: KEYS are the agents version counter, then (live, interval, day)
# triples; ARGV the number of live fields, the live fields, the number of interval fields, those
# fields, then the day fields.
# One script call with fixed fields instead of three commands per agent, because at 10,000
# agents the per-command and per-field costs dominate the tick. The reply has three parts: every
# agent's live fields in one flat list, and every agent's counters (interval then day fields, as
# stored, 0 when absent) as one comma-separated string, which the client parses into a numpy
# array in one call: a nested reply cost Redis a fifth more, converting the counters here
# (tonumber) cost Redis more than the client pays, and one Python int per counter cost the
# client more than the whole parse. The third part is the agents version when they were read:
# what the changes stream says of these agents up to that version is in what was read. (On Redis
# Cluster the keys span slots; see docs/architecture.md.)
READ_AGENTS = r"""
local n_live = tonumber(ARGV[1])
local live_f = {unpack(ARGV, 2, 1 + n_live)}
local n_iv = tonumber(ARGV[2 + n_live])
local iv_f = {unpack(ARGV, 3 + n_live, 2 + n_live + n_iv)}
local day_f = {unpack(ARGV, 3 + n_live + n_iv)}
local n_day = #day_f
local live_out, counts, n, c = {}, {}, 0, 0
for i = 2, #KEYS, 3 do
  local live = redis.call('HMGET', KEYS[i], unpack(live_f))
  for j = 1, n_live do n = n + 1; live_out[n] = live[j] end
  local iv = redis.call('HMGET', KEYS[i + 1], unpack(iv_f))
  for j = 1, n_iv do c = c + 1; counts[c] = iv[j] or '0' end
  local day = redis.call('HMGET', KEYS[i + 2], unpack(day_f))
  for j = 1, n_day do c = c + 1; counts[c] = day[j] or '0' end
end
return {live_out, table.concat(counts, ','), redis.call('GET', KEYS[1]) or '0'}
"""

# Read every queue's live state for the tick in one call: per queue, the current and previous
# interval counters, the day counters, and the waiting set (count, the oldest listed, and how many
# have waited longer than T overall and among those who entered in this interval). One call for
# all queues rather than one per queue: at 500 queues the client's per-command packing and
# parsing cost more than Redis's reads. KEYS: per queue its current interval, previous interval,
# day and waiting keys; ARGV: how many callers to list, the current interval's start, then per
# queue the latest entry time that is already beyond its T. Returns seven replies per queue.
READ_QUEUES = r"""
local listed = tonumber(ARGV[1]) - 1
local iv = ARGV[2]
local out = {}
for q = 0, #KEYS / 4 - 1 do
  local k = q * 4
  local waiting, beyond_t = KEYS[k + 4], ARGV[3 + q]
  out[#out + 1] = redis.call('HGETALL', KEYS[k + 1])
  out[#out + 1] = redis.call('HGETALL', KEYS[k + 2])
  out[#out + 1] = redis.call('HGETALL', KEYS[k + 3])
  out[#out + 1] = redis.call('ZCARD', waiting)
  out[#out + 1] = redis.call('ZRANGE', waiting, 0, listed, 'WITHSCORES')
  out[#out + 1] = redis.call('ZCOUNT', waiting, '-inf', beyond_t)
  out[#out + 1] = redis.call('ZCOUNT', waiting, iv, beyond_t)
end
return out
"""

# Apply a batch of events in stream order, in one call. For each event, as one unit:
#
# - a call event: the queue side (call hash, waiting set, interval and day counters of the
#   interval the call entered in), then, when the queue side applied it, the agent side
#   (counters, current and last call), with the talk and hold the queue side computed;
# - an agent state change: time in the state it leaves, split across intervals (and days), the
#   new state, the timeline; leaving ACW that followed a call credits the ACW to that call's
#   queue and interval;
# - a late event (validated in Python): a duplicate if its id was applied, else late.
#
# Every event starts with the dedup set of the entity it is about (the queue of a call event,
# the agent of a state change): SADD returning 0 means it was applied before (at-least-once
# delivery) and it changes nothing; a rejected event is removed from the set again and changed
# nothing. The other parts of an event (a call's agent side, the ACW credit) need no dedup of
# their own: they run in the same atomic call, exactly when the event itself is applied. Each
# event runs under pcall: a script error (a bug, never the payload's fault) is reported for that
# event alone, like a rejection.
#
# What is the same for many events is done once per batch: counter increments are summed per
# (hash, field) and written at the end (a key gets its TTL when one of its fields is new: a
# key's first field always is), "touched" marks are summed per interval, dedup sets get their
# TTL once. What the batch changed for each agent (live fields set, counter amounts added) is
# added to the changes stream as one entry ('d': JSON) under a new agents version, which the
# engine folds into its copy of the agents instead of reading them again. Nothing reads a counter
# hash during the batch, so deferring the increments changes no result, and the whole batch is
# one atomic script.
#
# Keys are derived from entity names with the templates in ARGV (queue base = qpre .. queue ..
# qsuf, from realtime/keys.py), with the same suffixes as the builders there; a test compares
# the whole keyspace after a scenario. The batch touches many entities, hence many hash slots:
# on Redis Cluster this needs splitting per node (see docs/architecture.md).
#
# KEYS: agents version counter, agent changes stream. ARGV: number of events, counter TTL, dedup
# TTL, call TTL, interval ms, qpre, qsuf, apre, asuf; then per event, as many fields as its kind
# needs (fewer arguments are less work on both sides at thousands of events per call):
#
# - a call event (11): type (queued, answered, abandoned, ended, transferred, missed), id, ts_ms,
#   queue, call, agent ('' when none), local day of ts, zone offset ms at ts, T ms, S ms, hold ms;
# - an agent state change (9): 'state', id, ts_ms, agent, day, offset, state, reason, queues JSON
#   ('' when the event carries none);
# - a late event (5): 'late', id, queue, agent ('' for the one it does not have), day.
# Returns the number applied and a flat list (index from 0, status, detail) of every event not
# applied: status dup, bad (detail: reason), late, or err (detail: the script error).
APPLY_BATCH = r"""
local n = tonumber(ARGV[1])
-- TTLs and scores go to Redis as the strings they came as: a number argument costs Redis a
-- float-to-text conversion on every call.
local counter_ttl, seen_ttl, call_ttl = ARGV[2], ARGV[3], ARGV[4]
local ivlen = tonumber(ARGV[5])
local qpre, qsuf, apre, asuf = ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local HEAD = 9
local WIDTH = {late = 5, state = 9, call = 11}
-- Time in a state is counted for at most this long: a lost logout event must not make an
-- agent "available" for a week.
local MAX_SPAN_MS = 86400000

-- Redis Lua numbers are doubles: epoch ms are exact, but tostring would print 1.7e+12. Most
-- counts are small: their text is made once per call (string.format costs far more than a
-- table lookup, and the counters' flush formats every sum).
local SMALL = {}
for i = 0, 63 do SMALL[i] = string.format('%d', i) end
local function fmt(x) return SMALL[x] or string.format('%d', x) end

-- fn with its results remembered, for values that repeat across a batch.
local function memo(fn)
  local seen = {}
  return function(x)
    local v = seen[x]
    if v == nil then
      v = fn(x)
      seen[x] = v
    end
    return v
  end
end

-- Offsets, thresholds and holds repeat across a batch: each text is converted once (tonumber
-- parses with strtod, which costs more than a table lookup).
local num = memo(tonumber)

-- ------------------------------------------------------------- batch-level accumulators
-- Per key one table: its fields in first-seen order in the array part, each field's sum under
-- its name (field names are strings, so the two parts never mix). One table per key rather than
-- three: the script allocates less, and the garbage collector has less to do.
local adds, add_order = {}, {}
local function add(key, field, amount)
  local h = adds[key]
  if h == nil then
    adds[key] = {field, [field] = amount}
    add_order[#add_order + 1] = key
    return
  end
  local cur = h[field]
  if cur == nil then
    h[#h + 1] = field
    h[field] = amount
  else
    h[field] = cur + amount
  end
end

local touches, touch_order = {}, {}
local function touch(key, iv)
  local t = touches[key]
  if t == nil then
    touches[key] = {iv, [iv] = 1}
    touch_order[#touch_order + 1] = key
    return
  end
  local c = t[iv]
  if c == nil then
    t[#t + 1] = iv
    t[iv] = 1
  else
    t[iv] = c + 1
  end
end

local armed = {}
local function arm(key, ttl)
  if not armed[key] then
    redis.call('EXPIRE', key, ttl)
    armed[key] = true
  end
end

-- What the batch changed for each agent, handed to the engine at the end (one entry of the
-- changes stream), so the engine need not read the agent again: {agent, state, reason,
-- since_ms, queues, call (false: not set by this batch), counters: flat (interval, day, field,
-- amount) quadruples of the fields a tick uses, as added}.
-- Only the counters a tick uses are handed over (realtime/live.py, AGENT_TICK_*_FIELDS).
local deltas, delta_order = {}, {}
local delta  -- the entry of the agent whose event is being applied
local TICK_FIELD = {}
for f in string.gmatch('TICK_FIELDS', '[^,]+') do TICK_FIELD[f] = true end
local function delta_of(agent)
  local d = deltas[agent]
  if d == nil then
    d = {agent, false, false, false, false, false, {}, 0}
    deltas[agent] = d
    delta_order[#delta_order + 1] = d
  end
  return d
end
local function hand_over(iv, day, f, v)
  if TICK_FIELD[f] then
    local c, m = delta[7], delta[8]
    c[m + 1] = iv; c[m + 2] = day; c[m + 3] = f; c[m + 4] = v
    delta[8] = m + 4
  end
end

-- Add up to four (field, amount) pairs to an entity's interval and day counters (pairs as
-- arguments, not a table: an event's counters then allocate nothing).
local function bump(base, iv, day, f1, v1, f2, v2, f3, v3, f4, v4)
  local ivk, dk = base .. ':iv:' .. iv, base .. ':day:' .. day
  add(ivk, f1, v1)
  add(dk, f1, v1)
  if f2 then
    add(ivk, f2, v2)
    add(dk, f2, v2)
    if f3 then
      add(ivk, f3, v3)
      add(dk, f3, v3)
      if f4 then
        add(ivk, f4, v4)
        add(dk, f4, v4)
      end
    end
  end
  touch(base .. ':touched', iv)
end

-- Local civil date of epoch-ms t (offset off), by the days-from-civil inverse; memoised.
local dates = {}
local function day_of(t, off)
  local z0 = math.floor((t + off) / 86400000)
  local s = dates[z0]
  if s then return s end
  local z = z0 + 719468
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
  s = string.format('%04d-%02d-%02d', y, m, d)
  dates[z0] = s
  return s
end

local function iv_of(t, off)
  return math.floor((t + off) / ivlen) * ivlen - off
end

-- An interval start as text (the counters' field and key suffix); memoised.
local iv_text = memo(fmt)

-- Undo an event's dedup mark (it was rejected): returns 'bad' and the reason.
local function unsee(seen, id, reason)
  redis.call('SREM', seen, id)
  armed[seen] = nil  -- the set may be gone with its last member
  return 'bad', reason
end

-- ------------------------------------------------------------- the queue side of a call
-- Returns status ('ok', 'dup', 'bad') and, for ended/transferred, talk and hold ms (on 'bad':
-- the reason).
local function queue_side(op, id, ts, tsraw, qbase, call, agent, day, off, t_ms, s_ms, hold_ms)
  local seen, callk = qbase .. ':seen:' .. day, qbase .. ':call:' .. call
  if redis.call('SADD', seen, id) == 0 then return 'dup' end
  arm(seen, seen_ttl)

  if op == 'queued' then
    if redis.call('EXISTS', callk) == 1 then
      return unsee(seen, id, 'call ' .. call .. ' was already queued')
    end
    local iv = iv_text(iv_of(ts, off))
    redis.call('HSET', callk, 'status', 'waiting', 'enter_ms', tsraw, 'iv', iv, 'day', day)
    redis.call('EXPIRE', callk, call_ttl)
    redis.call('ZADD', qbase .. ':waiting', tsraw, call)
    bump(qbase, iv, day, 'offered', 1)
    return 'ok'
  end

  local c = redis.call('HMGET', callk, 'status', 'enter_ms', 'iv', 'day', 'answer_ms')
  local status = c[1]
  if not status then
    return unsee(seen, id, 'call ' .. call .. ' was never queued in this queue')
  end
  local enter, civ, cday = tonumber(c[2]), c[3], c[4]

  if op == 'answered' or op == 'abandoned' or op == 'missed' then
    if status ~= 'waiting' then
      return unsee(seen, id, 'call ' .. call .. ' is ' .. status .. ', not waiting')
    end
    if ts < enter then
      return unsee(seen, id, 'event is earlier than the call entered the queue')
    end
  end

  if op == 'answered' then
    local wait = ts - enter
    redis.call('HSET', callk, 'status', 'answered', 'answer_ms', tsraw, 'agent', agent)
    redis.call('ZREM', qbase .. ':waiting', call)
    bump(qbase, civ, cday, 'answered', 1, 'wait_answered_ms', wait, wait <= t_ms and 'answered_within_t' or nil, 1)
    return 'ok'
  elseif op == 'abandoned' then
    local wait = ts - enter
    redis.call('HSET', callk, 'status', 'abandoned', 'end_ms', tsraw)
    redis.call('ZREM', qbase .. ':waiting', call)
    local short = wait <= s_ms and 'abandoned_short' or nil
    local within = wait <= t_ms and 'abandoned_within_t' or nil
    if short then
      bump(qbase, civ, cday, 'abandoned', 1, 'wait_abandoned_ms', wait, short, 1, within, 1)
    else
      bump(qbase, civ, cday, 'abandoned', 1, 'wait_abandoned_ms', wait, within, 1)
    end
    return 'ok'
  elseif op == 'missed' then
    bump(qbase, civ, cday, 'missed', 1)
    return 'ok'
  elseif op == 'ended' or op == 'transferred' then
    if status ~= 'answered' then
      return unsee(seen, id, 'call ' .. call .. ' is ' .. status .. ', not answered')
    end
    local answer = tonumber(c[5])
    if ts < answer then
      return unsee(seen, id, 'call ends before it was answered')
    end
    if hold_ms > ts - answer then
      return unsee(seen, id, 'hold_s is longer than the call')
    end
    local talk = ts - answer - hold_ms
    redis.call('HSET', callk, 'status', op, 'end_ms', tsraw, 'talk_ms', fmt(talk), 'hold_ms', fmt(hold_ms))
    bump(qbase, civ, cday, 'handled', 1, 'talk_ms', talk, 'hold_ms', hold_ms,
      op == 'transferred' and 'transfers' or nil, 1)
    return 'ok', talk, hold_ms
  end
  return unsee(seen, id, 'unknown operation ' .. op)
end

-- ACW that ended on the agent side, credited to its call's queue and interval. No dedup set of
-- its own: it runs only when the agent's state change is applied, in the same atomic call.
local function queue_acw(qbase, call, acw_ms)
  local callk = qbase .. ':call:' .. call
  local c = redis.call('HMGET', callk, 'status', 'iv', 'day')
  if not c[1] then return end
  redis.call('HINCRBY', callk, 'acw_ms', fmt(acw_ms))
  bump(qbase, c[2], c[3], 'acw_ms', acw_ms)
end

-- ------------------------------------------------------------- the agent side
local function count(abase, t, off, f1, v1, f2, v2, f3, v3, f4, v4)
  local iv, day = iv_text(iv_of(t, off)), day_of(t, off)
  bump(abase, iv, day, f1, v1, f2, v2, f3, v3, f4, v4)
  hand_over(iv, day, f1, v1)
  if f2 then
    hand_over(iv, day, f2, v2)
    if f3 then
      hand_over(iv, day, f3, v3)
      if f4 then hand_over(iv, day, f4, v4) end
    end
  end
end

local function add_time(abase, field, from, to, off)
  local t = math.max(from, to - MAX_SPAN_MS)
  while t < to do
    local stop = math.min(iv_of(t, off) + ivlen, to)
    count(abase, t, off, field, stop - t)
    t = stop
  end
end

-- Returns status and, when leaving ACW after a call: acw ms, that call's queue and call id.
local function agent_state(id, ts, tsraw, abase, day, off, state, reason, queues)
  local seen, live = abase .. ':seen:' .. day, abase .. ':live'
  if redis.call('SADD', seen, id) == 0 then return 'dup' end
  arm(seen, seen_ttl)
  local cur = redis.call('HMGET', live, 'state', 'reason', 'since_ms', 'last_call', 'last_queue')
  local since = tonumber(cur[3])
  if since and ts < since then
    return unsee(seen, id, 'older than the agent\'s current state (since ' .. cur[3] .. ' ms)')
  end
  local set = {'state', state, 'reason', reason, 'since_ms', tsraw}
  local acw_ms, acw_queue, acw_call
  if cur[1] and cur[1] ~= 'logged_out' then
    local field = 's:' .. cur[1]
    if cur[1] == 'aux' and cur[2] and cur[2] ~= '' then field = field .. ':' .. cur[2] end
    add_time(abase, field, since, ts, off)
    if cur[1] == 'acw' and cur[4] and cur[4] ~= '' then
      acw_ms, acw_queue, acw_call = ts - since, cur[5], cur[4]
      set[#set + 1] = 'last_call'; set[#set + 1] = ''
    end
  end
  if queues ~= '' then set[#set + 1] = 'queues'; set[#set + 1] = queues end
  redis.call('HSET', live, unpack(set))
  delta[2], delta[3], delta[4] = state, reason, tsraw
  if queues ~= '' then delta[5] = queues end
  local tl = abase .. ':timeline:' .. day
  -- What cjson.encode({ts, state, reason}) gives, built directly when no character needs
  -- escaping (ts, whole ms of 12 or 13 digits, prints as its text at cjson's 14 digits).
  local entry
  if string.find(reason, '[%c"\\/]') then
    entry = cjson.encode({ts, state, reason})
  else
    entry = '[' .. tsraw .. ',"' .. state .. '","' .. reason .. '"]'
  end
  -- A day's timeline gets its TTL when it is created (length 1), like a counter key.
  if redis.call('RPUSH', tl, entry) == 1 then
    redis.call('EXPIRE', tl, counter_ttl)
  end
  return 'ok', acw_ms, acw_queue, acw_call
end

-- The agent's part of a call event. No dedup set of its own: it runs only when the queue side
-- applied the event, in the same atomic call.
local function agent_call(op, ts, abase, off, call, queue, talk, hold)
  if op == 'answered' then
    redis.call('HSET', abase .. ':live', 'call', call, 'call_queue', queue)
    delta[6] = call
    count(abase, ts, off, 'answered', 1)
  elseif op == 'ended' or op == 'transferred' then
    count(abase, ts, off, 'handled', 1, 'talk_ms', talk, 'hold_ms', hold, op == 'transferred' and 'transfers' or nil, 1)
    redis.call('HSET', abase .. ':live', 'call', '', 'call_queue', '', 'last_call', call, 'last_queue', queue)
    delta[6] = ''
  elseif op == 'missed' then
    count(abase, ts, off, 'missed', 1)
  end
  return 'ok'
end

-- ------------------------------------------------------------- one event
-- An event's arguments start after ARGV[b]; their number depends on the kind (see above).
local function apply_one(op, b)
  local id = ARGV[b + 2]
  if op == 'late' then
    local queue, agent, day = ARGV[b + 3], ARGV[b + 4], ARGV[b + 5]
    local seen = queue ~= '' and (qpre .. queue .. qsuf) or (apre .. agent .. asuf)
    if redis.call('SISMEMBER', seen .. ':seen:' .. day, id) == 1 then return 'dup' end
    return 'late'
  end
  local tsraw = ARGV[b + 3]
  local ts = tonumber(tsraw)
  if op == 'state' then
    local agent = ARGV[b + 4]
    local abase = apre .. agent .. asuf
    delta = delta_of(agent)
    local status, acw_ms, acw_queue, acw_call = agent_state(
      id, ts, tsraw, abase, ARGV[b + 5], num(ARGV[b + 6]), ARGV[b + 7], ARGV[b + 8], ARGV[b + 9])
    if status ~= 'ok' then return status, acw_ms end
    if acw_ms and acw_queue and acw_queue ~= '' then
      queue_acw(qpre .. acw_queue .. qsuf, acw_call, acw_ms)
    end
    return 'ok'
  end
  local queue, call, agent = ARGV[b + 4], ARGV[b + 5], ARGV[b + 6]
  local off = num(ARGV[b + 8])
  local status, talk, hold = queue_side(op, id, ts, tsraw, qpre .. queue .. qsuf, call, agent, ARGV[b + 7], off,
    num(ARGV[b + 9]), num(ARGV[b + 10]), num(ARGV[b + 11]))
  if status ~= 'ok' then return status, talk end
  if agent ~= '' and (op == 'answered' or op == 'ended' or op == 'transferred' or op == 'missed') then
    delta = delta_of(agent)
    agent_call(op, ts, apre .. agent .. asuf, off, call, queue, talk or 0, hold or 0)
  end
  return status
end

-- ------------------------------------------------------------- the batch
local out, applied = {}, 0
local b = HEAD
for i = 0, n - 1 do
  local op = ARGV[b + 1]
  local ok, status, detail = pcall(apply_one, op, b)
  b = b + (WIDTH[op] or WIDTH.call)
  if not ok then
    local e = status
    status, detail = 'err', type(e) == 'table' and tostring(e.err) or tostring(e)
  end
  if status == 'ok' then
    applied = applied + 1
  else
    out[#out + 1] = i
    out[#out + 1] = status
    out[#out + 1] = detail or ''
  end
end

for _, key in ipairs(add_order) do
  local h = adds[key]
  local new = false
  for i = 1, #h do
    local field = h[i]
    local inc = h[field]
    if redis.call('HINCRBY', key, field, fmt(inc)) == inc then new = true end
  end
  if new then redis.call('EXPIRE', key, counter_ttl) end
end
for _, key in ipairs(touch_order) do
  local t = touches[key]
  for i = 1, #t do
    local iv = t[i]
    redis.call('HINCRBY', key, iv, fmt(t[iv]))
  end
end
local changes = {}
for _, d in ipairs(delta_order) do
  if d[2] or d[6] or d[8] > 0 then  -- a rejected event changes nothing
    d[8] = nil
    changes[#changes + 1] = d
  end
end
if #changes > 0 then
  local v = redis.call('INCR', KEYS[1])
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', 'CHANGES_KEEP', string.format('%d-0', v), 'd', cjson.encode(changes))
end
return {applied, out}
"""

# Entries of the agent changes stream kept (approximately) beyond what the engine has consumed
# and trimmed: enough for an engine that falls behind for a while; one further behind reads
# every agent again.
CHANGES_KEEP = 2000
MARK_AGENTS_CHANGED = MARK_AGENTS_CHANGED.replace("CHANGES_KEEP", str(CHANGES_KEEP))
APPLY_BATCH = APPLY_BATCH.replace("CHANGES_KEEP", str(CHANGES_KEEP)).replace(
    "TICK_FIELDS", ",".join(sorted({*AGENT_TICK_INTERVAL_FIELDS, *AGENT_TICK_DAY_FIELDS})))
