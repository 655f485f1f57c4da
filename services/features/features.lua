-- features.lua: applies one micro-batch of orders to the feature store in ONE script call
-- (source of truth; embedded into streamscore-features at build time, see CMakeLists.txt).
-- Atomic per batch, hence per order. Dedupe by order id with a content fingerprint; per customer
-- RFM aggregates (same arithmetic as rfm.c), 30-day purchase window, customer x product
-- quantities; per (store, day) product quantities with a per-store watermark.
-- Keys (P = prefix; see docs/redis.md):
--   P c:{<cid>}            hash: st (state), w (window), o:<order_id> -> fp, p:<product> -> qty
--                          (the per-field layout; the local mode writes one record field r
--                          instead, which this script refuses to read: see docs/redis.md)
--   P dm:{<store>:<day>}   hash: p:<product> -> qty sold that event-time day, o:<order_id> -> fp
--                          (dedupe of anonymous orders)
--   P wm                   hash: <store> -> max event time (ms) applied for the store
--   P wmin                 hash: <store> -> min event time (ms) applied for the store
-- ARGV: 1 prefix, 2 allowed lateness ms, 3 customer ttl ms (0 none), 4 demand ttl ms (0 none),
--   5 number of orders, then per order: "o:<order_id>", customer key ("" = anonymous), demand key,
--   store_id, day end ms (exclusive), event time ms, kind ("P"|"R"), fingerprint, amount,
--   number of lines L, then L x ("p:<product_id>", quantity) (products distinct in an order).
--   The client builds field and key names (cheaper in C than Lua string concatenation).
-- Reply: one string per order: "C" conflict (same id, other fingerprint), "D" duplicate, "A"/"AL"
--   applied (L: late - the store's watermark had closed the order's day; still counted). For customer orders "A", "AL"
--   and "D" are followed by "|n|s|mu|m2|f|l|rn|ra|r30": the customer's aggregates after the
--   order and the 30-day purchase count as of max(event time, last purchase).
local P = ARGV[1]
local lateness = tonumber(ARGV[2])
local cttl = tonumber(ARGV[3])
local dttl = tonumber(ARGV[4])
local norders = tonumber(ARGV[5])
local WINDOW = 30 * 86400000
local CHUNK = 4000
local fmt = string.format

-- Numbers are handed to redis.call as Lua numbers: Redis 7 writes them with %.17g (exact
-- round trip), cheaper than formatting here.

-- Pass 1: parse and collect the fields to read, per key, without duplicates.
local orders = {}
local want = {}      -- key -> list of fields
local wantset = {}   -- key -> set of fields
local keyorder = {}  -- keys in first-touch order
local stores, storeset = {}, {}
local function need(key, field)
  local s = wantset[key]
  if not s then
    s = {}
    wantset[key] = s
    want[key] = {}
    keyorder[#keyorder + 1] = key
  end
  if not s[field] then
    s[field] = true
    local l = want[key]
    l[#l + 1] = field
  end
end
-- Customer state: 'st' = struct '<iddddllid' (n s sc mu m2 f l rn ra, 64 bytes, little-endian),
-- 'w' = the 30-day window as '<l' int64 epoch ms. Binary: no number formatting or parsing.
local ST = '<iddddllid'

-- Orders are not copied into tables: base[k] is the ARGV index of order k's first argument.
local base = {}
local i = 6
for k = 1, norders do
  base[k] = i
  local nl = tonumber(ARGV[i + 9])
  if not (nl and tonumber(ARGV[i + 4]) and tonumber(ARGV[i + 5]) and tonumber(ARGV[i + 8])) then
    return redis.error_reply('bad argument in order ' .. k)
  end
  local ckey, dkey = ARGV[i + 1], ARGV[i + 2]
  if ckey ~= '' then
    if not wantset[ckey] then
      need(ckey, 'st')
      need(ckey, 'w')
      need(ckey, 'r')
    end
    need(ckey, ARGV[i])
  else
    need(dkey, ARGV[i])
  end
  if ARGV[i + 6] == 'P' then
    for j = i + 10, i + 9 + 2 * nl, 2 do
      if ckey ~= '' then need(ckey, ARGV[j]) end
      need(dkey, ARGV[j])
    end
  end
  local store = ARGV[i + 3]
  if not storeset[store] then
    storeset[store] = true
    stores[#stores + 1] = store
  end
  i = i + 10 + 2 * nl
end

-- Pass 2: read everything with one HMGET per key (chunked for Lua's unpack limit).
local vals = {}
local function hmget_all(key, fields)
  local t = {}
  for a = 1, #fields, CHUNK do
    local b = math.min(a + CHUNK - 1, #fields)
    local r = redis.call('HMGET', key, unpack(fields, a, b))
    for x = a, b do t[fields[x]] = r[x - a + 1] end
  end
  return t
end
for _, key in ipairs(keyorder) do
  vals[key] = hmget_all(key, want[key])
  if vals[key].r then
    return redis.error_reply('LAYOUT ' .. key .. ' holds a local-mode customer record: ' ..
                             'state.mode=script cannot read it (docs/redis.md)')
  end
end
local wm, wmin = {}, {}
if #stores > 0 then
  local r = hmget_all(P .. 'wm', stores)
  local r0 = hmget_all(P .. 'wmin', stores)
  for _, s in ipairs(stores) do
    wm[s] = tonumber(r[s])
    wmin[s] = tonumber(r0[s])
  end
end

local dirty = {}
local dirtyorder = {}
local function set(key, field, v)
  vals[key][field] = v
  local d = dirty[key]
  if not d then
    d = {}
    dirty[key] = d
    dirtyorder[#dirtyorder + 1] = key
  end
  d[field] = true
end

local cstate = {}
local function state(key)
  local st = cstate[key]
  if st then return st end
  local v = vals[key]
  st = {n = 0, s = 0, sc = 0, mu = 0, m2 = 0, f = 0, l = 0, rn = 0, ra = 0, w = {}}
  if v.st then
    st.n, st.s, st.sc, st.mu, st.m2, st.f, st.l, st.rn, st.ra = struct.unpack(ST, v.st)
  end
  if v.w and #v.w >= 8 then
    st.w = {struct.unpack('<' .. string.rep('l', #v.w / 8), v.w)}
    st.w[#st.w] = nil -- struct.unpack also returns the next position
  end
  cstate[key] = st
  return st
end

local function purchase(st, t, a)
  -- Kahan sum and Welford moments, exactly as rfm_agg_purchase.
  local y = a - st.sc
  local tt = st.s + y
  st.sc = (tt - st.s) - y
  st.s = tt
  st.n = st.n + 1
  local d = a - st.mu
  st.mu = st.mu + d / st.n
  st.m2 = st.m2 + d * (a - st.mu)
  if st.n == 1 or t < st.f then st.f = t end
  if st.n == 1 or t > st.l then st.l = t end
  -- 30-day window relative to the latest purchase (as rfm_window_add).
  local lo = st.l - WINDOW
  local w = st.w
  if t >= lo then
    local p = #w + 1
    while p > 1 and w[p - 1] > t do
      w[p] = w[p - 1]
      p = p - 1
    end
    w[p] = t
  end
  if #w > 0 and w[1] < lo then
    local nw = {}
    for _, x in ipairs(w) do
      if x >= lo then nw[#nw + 1] = x end
    end
    st.w = nw
  end
end

-- Snapshot of a customer's aggregates for the reply, with the 30-day count as of
-- max(t, last purchase).
local function snap(st, t)
  local T = t
  if st.n > 0 and st.l > T then T = st.l end
  local r30 = 0
  for _, x in ipairs(st.w) do
    if x >= T - WINDOW and x <= T then r30 = r30 + 1 end
  end
  return fmt('|%d|%.17g|%.17g|%.17g|%d|%d|%d|%.17g|%d', st.n, st.s, st.mu, st.m2, st.f, st.l,
    st.rn, st.ra, r30)
end

-- Pass 3: apply in batch order.
local out = {}
for k = 1, norders do
  local b = base[k]
  local of, ck, dkey, store = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  local t, fp, nl = tonumber(ARGV[b + 5]), ARGV[b + 7], tonumber(ARGV[b + 9])
  local purch = ARGV[b + 6] == 'P'
  if ck == '' then ck = nil end
  local dk = ck or dkey
  local prev = vals[dk][of]
  if prev then
    if prev ~= fp then
      out[k] = 'C'
    elseif ck then
      -- A duplicate carries the current snapshot so that a retried batch can still emit the
      -- features of orders that a lost call applied.
      out[k] = 'D' .. snap(state(ck), t)
    else
      out[k] = 'D'
    end
  else
    set(dk, of, fp)
    local late = ''
    local w = wm[store]
    if purch then
      -- Late sales still count (demand stays exact); the flag lets the caller count them, since
      -- a forecaster may already have used the closed day.
      if w and w - lateness >= tonumber(ARGV[b + 4]) then late = 'L' end
      local dv = vals[dkey]
      for j = b + 10, b + 9 + 2 * nl, 2 do
        local pf = ARGV[j]
        set(dkey, pf, (tonumber(dv[pf]) or 0) + tonumber(ARGV[j + 1]))
      end
    end
    if not w or t > w then wm[store] = t end
    if not wmin[store] or t < wmin[store] then wmin[store] = t end
    if ck then
      local st = state(ck)
      if purch then
        purchase(st, t, tonumber(ARGV[b + 8]))
        local cv = vals[ck]
        for j = b + 10, b + 9 + 2 * nl, 2 do
          local pf = ARGV[j]
          set(ck, pf, (tonumber(cv[pf]) or 0) + tonumber(ARGV[j + 1]))
        end
      else
        st.rn = st.rn + 1
        st.ra = st.ra + tonumber(ARGV[b + 8])
      end
      st.dirty = true
      out[k] = 'A' .. late .. snap(st, t)
    else
      out[k] = 'A' .. late
    end
  end
end

-- Pass 4: write back changed fields, refresh TTLs.
for key, st in pairs(cstate) do
  if st.dirty then
    set(key, 'st', struct.pack(ST, st.n, st.s, st.sc, st.mu, st.m2, st.f, st.l, st.rn, st.ra))
    set(key, 'w', struct.pack('<' .. string.rep('l', #st.w), unpack(st.w)))
  end
end
local function hset_all(key, args)
  for a = 1, #args, CHUNK do
    redis.call('HSET', key, unpack(args, a, math.min(a + CHUNK - 1, #args)))
  end
end
for _, key in ipairs(dirtyorder) do
  local args = {}
  local v = vals[key]
  for field in pairs(dirty[key]) do
    args[#args + 1] = field
    args[#args + 1] = v[field]
  end
  hset_all(key, args)
  local ttl = string.find(key, 'c:{', #P + 1, true) == #P + 1 and cttl or dttl
  if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
end
if #stores > 0 then
  local a, b = {}, {}
  for _, s in ipairs(stores) do
    if wm[s] then
      a[#a + 1] = s; a[#a + 1] = wm[s]
      b[#b + 1] = s; b[#b + 1] = wmin[s]
    end
  end
  if #a > 0 then
    hset_all(P .. 'wm', a)
    hset_all(P .. 'wmin', b)
  end
end
return out
