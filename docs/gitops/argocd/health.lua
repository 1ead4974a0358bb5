-- Argo CD health check for ConsulCluster and ConsulService (consul.operator.dev).
-- kustomization.yaml beside it loads this file into argocd-cm for both kinds (see docs/gitops.md).
local health = {}

local function condition(name)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == name then
      return c
    end
  end
  return nil
end

-- A status written for an older spec says nothing about the current one.
if obj.status == nil or obj.status.observedGeneration == nil or obj.status.observedGeneration < obj.metadata.generation then
  health.status = "Progressing"
  health.message = "Waiting for the operator to observe generation " .. tostring(obj.metadata.generation)
  return health
end

local degraded = condition("Degraded")
if degraded ~= nil and degraded.status == "True" then
  health.status = "Degraded"
  health.message = degraded.reason .. ": " .. degraded.message
  return health
end

local ready = condition("Ready")
if ready ~= nil and ready.status == "True" then
  health.status = "Healthy"
  health.message = ready.message
  return health
end

health.status = "Progressing"
if ready ~= nil then
  health.message = ready.reason .. ": " .. ready.message
else
  health.message = "Waiting for the Ready condition"
end
return health
