-- Port of lox-test benchmark/method_call.lox.
local Toggle = {}
Toggle.__index = Toggle

function Toggle.new(startState)
  local self = setmetatable({}, Toggle)
  self:init(startState)
  return self
end

function Toggle:init(startState)
  self.state = startState
end

function Toggle:value() return self.state end

function Toggle:activate()
  self.state = not self.state
  return self
end

local NthToggle = setmetatable({}, { __index = Toggle })
NthToggle.__index = NthToggle

function NthToggle.new(startState, maxCounter)
  local self = setmetatable({}, NthToggle)
  self:init(startState, maxCounter)
  return self
end

function NthToggle:init(startState, maxCounter)
  Toggle.init(self, startState)
  self.countMax = maxCounter
  self.count = 0
end

function NthToggle:activate()
  self.count = self.count + 1
  if self.count >= self.countMax then
    Toggle.activate(self)
    self.count = 0
  end
  return self
end

local start = os.clock()
local n = 100000
local val = true
local toggle = Toggle.new(val)

for i = 0, n - 1 do
  val = toggle:activate():value()
  val = toggle:activate():value()
  val = toggle:activate():value()
  val = toggle:activate():value()
  val = toggle:activate():value()
  val = toggle:activate():value()
  val = toggle:activate():value()
  val = toggle:activate():value()
  val = toggle:activate():value()
  val = toggle:activate():value()
end

print(toggle:value())

val = true
local ntoggle = NthToggle.new(val, 3)

for i = 0, n - 1 do
  val = ntoggle:activate():value()
  val = ntoggle:activate():value()
  val = ntoggle:activate():value()
  val = ntoggle:activate():value()
  val = ntoggle:activate():value()
  val = ntoggle:activate():value()
  val = ntoggle:activate():value()
  val = ntoggle:activate():value()
  val = ntoggle:activate():value()
  val = ntoggle:activate():value()
end

print(ntoggle:value())
print(string.format("%g", os.clock() - start))
