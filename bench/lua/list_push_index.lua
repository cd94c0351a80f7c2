-- Push 1,000,000 numbers, then read them back by index 5 times.
local start = os.clock()
local xs = {}
for i = 0, 999999 do xs[#xs + 1] = i end
local sum = 0
for round = 0, 4 do
  for i = 1, 1000000 do sum = sum + xs[i] end
end
print(string.format("%.6g", sum))
print("elapsed")
print(os.clock() - start)
