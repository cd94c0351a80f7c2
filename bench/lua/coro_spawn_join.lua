-- Create a coroutine and run it to completion, 500,000 times.
local function work(n) return n * 2 end
local start = os.clock()
local total = 0
for i = 0, 499999 do
  local co = coroutine.create(work)
  local _, r = coroutine.resume(co, i)
  total = total + r
end
print(string.format("%.6g", total))
print("elapsed")
print(os.clock() - start)
