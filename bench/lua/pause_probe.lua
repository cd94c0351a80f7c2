-- Lua 5.4 port of bench/pause_probe.lox: 250,000 small tables stay alive
-- in an array while 2,000,000 short-lived ones are made; prints the
-- largest gap between two consecutive iterations. Timer: os.clock() is
-- CPU time like clox's clock() (Lua 5.4 has no wall clock finer than 1 s);
-- Lua's collector is incremental and single-threaded, so CPU time is the
-- stall the program sees.
--   lua5.4 bench/lua/pause_probe.lua
local live = 250000
local churn = 2000000

local start = os.clock()
local keep = {}
for i = 0, live - 1 do keep[#keep + 1] = { v = i } end
local built = os.clock()

local prev = os.clock()
local maxGap, over1ms, over5ms, sum = 0, 0, 0, 0
for i = 0, churn - 1 do
  local t = { v = i }
  sum = sum + t.v
  local now = os.clock()
  local gap = now - prev
  if gap > maxGap then maxGap = gap end
  if gap > 0.001 then over1ms = over1ms + 1 end
  if gap > 0.005 then over5ms = over5ms + 1 end
  prev = now
end
local finish = os.clock()

print(string.format("kept %d objects, churned %d (sum %g)", #keep, churn, sum))
print(string.format("build s: %g", built - start))
print(string.format("churn s: %g", finish - built))
print(string.format("largest gap ms: %g", maxGap * 1000))
print(string.format("gaps over 1 ms: %d", over1ms))
print(string.format("gaps over 5 ms: %d", over5ms))
print(string.format("collectgarbage count KiB: %g", collectgarbage("count")))
