-- Port of lox-test benchmark/equality.lox. Lua has no expression
-- statements, so each Lox `expr;` is `_ = (expr)`. The first loop is the
-- Lox program's baseline, whose statements are bare constants (`1; nil;
-- "str";`): `_ = 1` is a register load. The second loop's statements are
-- comparisons, and so are the port's: Lua does not constant-fold them, so
-- `_ = (1 == 1)` runs an EQ (`luac5.4 -l` shows EQI/EQK, a jump and the
-- boolean loads) where Lox's `1 == 1;` runs OP_EQUAL.
local _
local i = 0

local loopStart = os.clock()

while i < 10000000 do
  i = i + 1

  _ = 1 _ = 1 _ = 1 _ = 2 _ = 1 _ = nil _ = 1 _ = "str" _ = 1 _ = true
  _ = nil _ = nil _ = nil _ = 1 _ = nil _ = "str" _ = nil _ = true
  _ = true _ = true _ = true _ = 1 _ = true _ = false _ = true _ = "str" _ = true _ = nil
  _ = "str" _ = "str" _ = "str" _ = "stru" _ = "str" _ = 1 _ = "str" _ = nil _ = "str" _ = true
end

local loopTime = os.clock() - loopStart

local start = os.clock()

i = 0
while i < 10000000 do
  i = i + 1

  _ = (1 == 1) _ = (1 == 2) _ = (1 == nil) _ = (1 == "str") _ = (1 == true)
  _ = (nil == nil) _ = (nil == 1) _ = (nil == "str") _ = (nil == true)
  _ = (true == true) _ = (true == 1) _ = (true == false) _ = (true == "str") _ = (true == nil)
  _ = ("str" == "str") _ = ("str" == "stru") _ = ("str" == 1) _ = ("str" == nil) _ = ("str" == true)
end

local elapsed = os.clock() - start
print("loop")
print(string.format("%g", loopTime))
print("elapsed")
print(string.format("%g", elapsed))
print("equals")
print(string.format("%g", elapsed - loopTime))
