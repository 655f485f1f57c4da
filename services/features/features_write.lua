-- features_write.lua: the write-only script of the `local` state mode (see flocal.h and
-- docs/features.md). The service computes a micro-batch in C and sends its effects here, so the
-- whole batch lands atomically with no reads (except the per-store watermark max/min) and no
-- arithmetic in Lua. ARGV is a list of operations, fences first:
--   F key epoch              fence: GET key (an input partition's epoch) must equal epoch, else
--                            nothing is written and the script fails with STALE (the service
--                            reloads, acquires a new epoch and recomputes)
--   A key field              fence: the field must not exist (anonymous order ids)
--   D key                    DEL (a customer hash of the per-field layout, before its record)
--   H key n f1 v1 .. fn vn   HSET (customer and demand records as absolute values - this writer
--                            owns them by the fences above -, anonymous order dedupe fields)
--   X key ms                 PEXPIRE
--   M key field v / m key field v   set field to max / min(current, v) (watermarks)
-- Reply: the number of operations.
local a = ARGV
local i, n, ops = 1, #ARGV, 0
while i <= n do
  local op = a[i]
  if op == 'F' then
    if redis.call('GET', a[i + 1]) ~= a[i + 2] then
      return redis.error_reply('STALE partition taken over by another writer: ' .. a[i + 1])
    end
  elseif op == 'A' then
    if redis.call('HEXISTS', a[i + 1], a[i + 2]) == 1 then
      return redis.error_reply('STALE order applied by another writer: ' .. a[i + 2])
    end
  else
    break
  end
  i = i + 3
  ops = ops + 1
end
while i <= n do
  local op = a[i]
  if op == 'H' then
    local c = tonumber(a[i + 2])
    redis.call('HSET', a[i + 1], unpack(a, i + 3, i + 2 + 2 * c))
    i = i + 3 + 2 * c
  elseif op == 'D' then
    redis.call('DEL', a[i + 1])
    i = i + 2
  elseif op == 'X' then
    redis.call('PEXPIRE', a[i + 1], a[i + 2])
    i = i + 3
  elseif op == 'M' or op == 'm' then
    local v = tonumber(a[i + 3])
    local cur = tonumber(redis.call('HGET', a[i + 1], a[i + 2]))
    if not cur or (op == 'M' and v > cur) or (op == 'm' and v < cur) then
      redis.call('HSET', a[i + 1], a[i + 2], a[i + 3])
    end
    i = i + 4
  else
    return redis.error_reply('features_write: bad operation at argument ' .. i)
  end
  ops = ops + 1
end
return ops
