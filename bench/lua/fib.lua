-- Port of lox-test benchmark/fib.lox.
local function fib(n)
  if n < 2 then return n end
  return fib(n - 2) + fib(n - 1)
end

local start = os.clock()
print(fib(35) == 9227465)
print(string.format("%g", os.clock() - start))
