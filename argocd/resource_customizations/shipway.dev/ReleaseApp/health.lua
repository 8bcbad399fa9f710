-- Argo CD health of a Shipway ReleaseApp (shipway.dev/v1alpha1). A ReleaseApp follows its Release, so
-- its health says the same as the Release's wherever the app's own phase allows:
--   Healthy      Deployed, Uninstalled (the release did what it was asked to)
--   Progressing  no status yet, a spec the operator has not observed, Pending (also: the Release does not
--                exist yet, e.g. a later sync wave), Deploying
--   Suspended    Waiting: the Release is held (start/promote action, approval, release window, pause,
--                schedule) or the app waits for an app it depends on
--   Degraded     Failed (the Release failed or was cancelled), RolledBack
--   Unknown      a phase this script does not know (a newer operator): update the health check
-- Runs in Argo CD's sandbox for configured scripts (gopher-lua, Lua 5.1, without the string library):
-- only base functions, table.* and the .. operator are used.
local function text(value)
  if value == nil or value == "" then
    return nil
  end
  return tostring(value)
end

local function condition(status, kind)
  if status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

-- Deployment states as words (Argo CD gives user scripts no string library to rewrite them with).
local STATES = { pending = "pending", running = "running", failed = "failed", cancelled = "cancelled", rolled_back = "rolled back" }

-- "pre 1.1.0, prod 1.1.0 failed": the version per environment, with the deployment's state unless it succeeded.
local function versions(status)
  if status.versions == nil then
    return nil
  end
  local parts = {}
  for _, v in ipairs(status.versions) do
    local part = tostring(v.environment) .. " " .. tostring(v.version)
    if v.status ~= nil and v.status ~= "succeeded" then
      part = part .. " " .. (STATES[v.status] or tostring(v.status))
    end
    table.insert(parts, part)
  end
  if #parts == 0 then
    return nil
  end
  return table.concat(parts, ", ")
end

-- "Waiting: release shop-1-1-0: prod waits for a promote action (promotion: manual)"
local function describe(status)
  local message = status.phase
  -- waitingFor says why the app waits; otherwise the Ready condition says what the Release is doing.
  local why = text(status.waitingFor)
  if why == nil then
    local ready = condition(status, "Ready")
    if ready ~= nil then
      why = text(ready.message)
    end
  end
  if why ~= nil then
    message = message .. ": " .. why
  end
  local deployed = versions(status)
  if deployed ~= nil then
    message = message .. " (" .. deployed .. ")"
  end
  return message
end

local status = obj.status
if status == nil or text(status.phase) == nil then
  return { status = "Progressing", message = "Waiting for the operator to reconcile the ReleaseApp" }
end

-- A status written for an older spec says nothing about the current one.
local generation = obj.metadata ~= nil and obj.metadata.generation or nil
local observed = status.observedGeneration
if observed == nil then
  local ready = condition(status, "Ready")
  if ready ~= nil then
    observed = ready.observedGeneration
  end
end
if generation ~= nil and observed ~= nil and observed < generation then
  return {
    status = "Progressing",
    message = "Waiting for the operator to observe generation " .. generation .. " (status is of generation " .. observed .. ")",
  }
end

local phase = status.phase
if phase == "Deployed" or phase == "Uninstalled" then
  return { status = "Healthy", message = describe(status) }
end
if phase == "Pending" or phase == "Deploying" then
  return { status = "Progressing", message = describe(status) }
end
if phase == "Waiting" then
  return { status = "Suspended", message = describe(status) }
end
if phase == "Failed" or phase == "RolledBack" then
  return { status = "Degraded", message = describe(status) }
end
return { status = "Unknown", message = "Unknown ReleaseApp phase " .. phase .. " (the Argo CD health check is older than the operator): " .. describe(status) }
