-- Argo CD health of a Shipway Target (shipway.dev/v1alpha1): can something be deployed there now?
-- Kubernetes targets, from their Ready condition (the operator can read the workload):
--   Healthy True, Degraded False (WorkloadUnavailable: missing workload, unreachable remote cluster),
--   Progressing Unknown or not written yet.
-- Agent targets (docker, script, gitpull), from status.phase and the Ready condition's reason:
--   Healthy      Online (the agent is connected, or was heard from within three heartbeats)
--   Progressing  Unknown (the agent has not connected yet: it is being installed)
--   Degraded     Offline (AgentSilent), and a revoked credential (AgentRevoked), which needs a person
--   Unknown      a phase this script does not know (a newer operator): update the health check
-- No status yet, or a spec the operator has not observed: Progressing.
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

-- "Offline (AgentRevoked): the credential of agent host-1 is revoked"
local function describe(label, ready)
  if ready == nil then
    return label
  end
  local message = label
  if text(ready.reason) ~= nil then
    message = message .. " (" .. ready.reason .. ")"
  end
  if text(ready.message) ~= nil then
    message = message .. ": " .. ready.message
  end
  return message
end

local status = obj.status
local ready = nil
if status ~= nil then
  ready = condition(status, "Ready")
end
local unreconciled = { status = "Progressing", message = "Waiting for the operator to reconcile the Target" }
if status == nil then
  return unreconciled
end

-- A status written for an older spec (another workload, another agent) says nothing about the current one.
local generation = obj.metadata ~= nil and obj.metadata.generation or nil
local observed = status.observedGeneration
if observed == nil and ready ~= nil then
  observed = ready.observedGeneration
end
if generation ~= nil and observed ~= nil and observed < generation then
  return {
    status = "Progressing",
    message = "Waiting for the operator to observe generation " .. generation .. " (status is of generation " .. observed .. ")",
  }
end

local kind = obj.spec ~= nil and obj.spec.type or nil
if kind == "kubernetes" then
  if ready == nil or ready.status == "Unknown" then
    return { status = "Progressing", message = describe("Waiting for the operator to find the workload", ready) }
  end
  if ready.status == "True" then
    return { status = "Healthy", message = describe("Ready", ready) }
  end
  return { status = "Degraded", message = describe("Not ready", ready) }
end

local phase = status.phase
if text(phase) == nil then
  return unreconciled
end
if phase == "Online" then
  return { status = "Healthy", message = describe("Online", ready) }
end
if phase == "Unknown" then
  return { status = "Progressing", message = describe("Waiting for the agent to connect", ready) }
end
if phase == "Offline" then
  return { status = "Degraded", message = describe("Offline", ready) }
end
return { status = "Unknown", message = "Unknown Target phase " .. phase .. " (the Argo CD health check is older than the operator)" }
