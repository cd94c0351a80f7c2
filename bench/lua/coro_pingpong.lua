-- Coroutine ping-pong: 500,000 round trips (resume/yield pairs).
local function ponger()
  local v = coroutine.yield()
  while v ~= nil do v = coroutine.yield(v + 1) end
end
local co = coroutine.create(ponger)
coroutine.resume(co)
local start = os.clock()
local x = 0
for i = 1, 500000 do
  local _, r = coroutine.resume(co, x)
  x = r
end
print(x)
print("elapsed")
print(os.clock() - start)
