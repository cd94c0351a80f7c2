-- Insert 200,000 number keys and 200,000 string keys, then look each up.
local start = os.clock()
local m = {}
local n = 0
for i = 0, 199999 do m[i] = i; n = n + 1 end
local keys = {}
for i = 0, 199999 do keys[i + 1] = "k" .. tostring(i) end
for i = 0, 199999 do m[keys[i + 1]] = i; n = n + 1 end
local sum = 0
for i = 0, 199999 do sum = sum + m[i] + m[keys[i + 1]] end
print(string.format("%.6g", sum))
print(string.format("%.6g", n))
print("elapsed")
print(os.clock() - start)
