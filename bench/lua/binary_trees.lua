-- Port of lox-test benchmark/binary_trees.lox: same algorithm, sizes and
-- output lines (numbers printed with %g, as clox prints them).
local function show(v)
  if type(v) == "number" then print(string.format("%g", v)) else print(v) end
end

local Tree = {}
Tree.__index = Tree

function Tree.new(item, depth)
  local self = setmetatable({}, Tree)
  self.item = item
  self.depth = depth
  if depth > 0 then
    local item2 = item + item
    depth = depth - 1
    self.left = Tree.new(item2 - 1, depth)
    self.right = Tree.new(item2, depth)
  else
    self.left = nil
    self.right = nil
  end
  return self
end

function Tree:check()
  if self.left == nil then
    return self.item
  end
  return self.item + self.left:check() - self.right:check()
end

local minDepth = 4
local maxDepth = 14
local stretchDepth = maxDepth + 1

local start = os.clock()

show("stretch tree of depth:")
show(stretchDepth)
show("check:")
show(Tree.new(0, stretchDepth):check())

local longLivedTree = Tree.new(0, maxDepth)

-- iterations = 2 ** maxDepth
local iterations = 1
local d = 0
while d < maxDepth do
  iterations = iterations * 2
  d = d + 1
end

local depth = minDepth
while depth < stretchDepth do
  local check = 0
  local i = 1
  while i <= iterations do
    check = check + Tree.new(i, depth):check() + Tree.new(-i, depth):check()
    i = i + 1
  end

  show("num trees:")
  show(iterations * 2)
  show("depth:")
  show(depth)
  show("check:")
  show(check)

  iterations = iterations / 4
  depth = depth + 2
end

show("long lived tree of depth:")
show(maxDepth)
show("check:")
show(longLivedTree:check())
show("elapsed:")
show(os.clock() - start)
