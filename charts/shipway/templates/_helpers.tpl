{{/* Names, labels and the derived settings every template shares. */}}

{{- define "shipway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "shipway.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "shipway.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "shipway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "shipway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "shipway.labels" -}}
helm.sh/chart: {{ include "shipway.chart" . }}
{{ include "shipway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "shipway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "shipway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Where agent credential and TLS Secrets live (--agent-namespace). */}}
{{- define "shipway.agentNamespace" -}}
{{- default .Release.Namespace .Values.agents.namespace }}
{{- end }}

{{- define "shipway.agentServiceName" -}}
{{- printf "%s-agents" (include "shipway.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "shipway.databaseSecretName" -}}
{{- default (printf "%s-database" (include "shipway.fullname" .)) .Values.database.external.existingSecret }}
{{- end }}

{{- define "shipway.webhookSecretName" -}}
{{- default (printf "%s-webhook" (include "shipway.fullname" .)) .Values.webhook.existingSecret }}
{{- end }}

{{- define "shipway.webhookEnabled" -}}
{{- if or .Values.webhook.existingSecret .Values.webhook.secret }}true{{ end }}
{{- end }}

{{- define "shipway.pvcName" -}}
{{- default (printf "%s-data" (include "shipway.fullname" .)) .Values.database.embedded.persistence.existingClaim }}
{{- end }}

{{/*
The checks values.schema.json cannot make (or that must hold even with --skip-schema-validation): each
fails the render with the value to change.
*/}}
{{- define "shipway.validate" -}}
{{- $replicas := int .Values.replicaCount }}
{{- if and (gt $replicas 1) (ne .Values.database.mode "external") }}
{{- fail (printf "replicaCount: %d replicas need database.mode=external (an embedded PGlite database belongs to one process); set database.mode=external with database.external.existingSecret, or replicaCount=1" $replicas) }}
{{- end }}
{{- if and (eq .Values.database.mode "external") (not .Values.database.external.existingSecret) (not .Values.database.external.url) }}
{{- fail "database.external: database.mode=external needs database.external.existingSecret (a Secret holding the PostgreSQL URL under database.external.secretKey) or database.external.url" }}
{{- end }}
{{- if and .Values.database.external.existingSecret .Values.database.external.url }}
{{- fail "database.external: set existingSecret or url, not both" }}
{{- end }}
{{- if and .Values.webhook.existingSecret .Values.webhook.secret }}
{{- fail "webhook: set existingSecret or secret, not both" }}
{{- end }}
{{- end }}

{{/* The agent endpoint certificate's names: the Service's in-cluster names, then the user's. */}}
{{- define "shipway.agentHostnames" -}}
{{- $svc := include "shipway.agentServiceName" . }}
{{- $names := list $svc (printf "%s.%s" $svc .Release.Namespace) (printf "%s.%s.svc" $svc .Release.Namespace) (printf "%s.%s.svc.cluster.local" $svc .Release.Namespace) }}
{{- concat .Values.agents.hostnames $names | uniq | join "," }}
{{- end }}
