-- Port of lox-test benchmark/instantiation.lox: instance creation and
-- initializer calls.
local Foo = {}
Foo.__index = Foo
function Foo:init() end
local function new_Foo()
  local o = setmetatable({}, Foo)
  o:init()
  return o
end

local start = os.clock()
local i = 0
while i < 500000 do
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  new_Foo()
  i = i + 1
end

print(string.format("%g", os.clock() - start))
