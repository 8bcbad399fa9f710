-- Argo CD health of a Shipway Release (shipway.dev/v1alpha1), from the status the operator writes.
--   Healthy      Succeeded
--   Progressing  no status yet, a spec the operator has not observed, Pending, Scheduled, Deploying,
--                Verifying (a verify window or health checks running)
--   Suspended    held until someone (or a release window) lets it go on: Waiting (start/promote action,
--                release window), Approving (approval), Paused, and Verifying at a canary's promote gate
--   Degraded     Failed, Cancelled, RolledBack (the version in git is not what runs), or Stalled (invalid spec)
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

local function currentEnvironment(status)
  if status.currentEnvironment == nil or status.environments == nil then
    return nil
  end
  for _, e in ipairs(status.environments) do
    if e.name == status.currentEnvironment then
      return e
    end
  end
  return nil
end

-- "Deploying in prod: environment prod: canary (1/2) deploying web-prod"
local function describe(status)
  local message = status.phase
  if text(status.currentEnvironment) ~= nil then
    message = message .. " in " .. status.currentEnvironment
  end
  if text(status.message) ~= nil then
    message = message .. ": " .. status.message
  end
  return message
end

local status = obj.status
if status == nil or text(status.phase) == nil then
  return { status = "Progressing", message = "Waiting for the operator to reconcile the Release" }
end

-- A status written for an older spec says nothing about the current one. Operators before
-- status.observedGeneration existed still set it on their conditions.
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

local stalled = condition(status, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  return { status = "Degraded", message = "Stalled (" .. (text(stalled.reason) or "Unknown") .. "): " .. (text(stalled.message) or describe(status)) }
end

local phase = status.phase
if phase == "Succeeded" then
  return { status = "Healthy", message = describe(status) }
end
if phase == "Pending" or phase == "Scheduled" or phase == "Deploying" then
  return { status = "Progressing", message = describe(status) }
end
if phase == "Verifying" then
  -- After a canary step with a promote gate the environment stays Verifying until a promote action.
  local env = currentEnvironment(status)
  if env ~= nil and env.stepState == "Promote" and text(env.waitingFor) ~= nil then
    return { status = "Suspended", message = describe(status) }
  end
  return { status = "Progressing", message = describe(status) }
end
if phase == "Waiting" or phase == "Approving" or phase == "Paused" then
  return { status = "Suspended", message = describe(status) }
end
if phase == "Failed" or phase == "Cancelled" or phase == "RolledBack" then
  return { status = "Degraded", message = describe(status) }
end
return { status = "Unknown", message = "Unknown Release phase " .. phase .. " (the Argo CD health check is older than the operator): " .. describe(status) }
