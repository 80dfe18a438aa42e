{{/* Name of the chart, for labels. */}}
{{- define "tradeledger.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: the release name, with the chart's name unless it already holds it. */}}
{{- define "tradeledger.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Standard labels on every object of the release. */}}
{{- define "tradeledger.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "tradeledger.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tradeledger
{{- end -}}

{{/* Labels that select the operator's pods. */}}
{{- define "tradeledger.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tradeledger.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "tradeledger.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tradeledger.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The operator's image. */}}
{{- define "tradeledger.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* rulesFrom FILE: the rules of a Role or ClusterRole kept in files/rbac (copies of config/rbac). */}}
{{- define "tradeledger.rulesFrom" -}}
{{- $role := .root.Files.Get .file | fromYaml -}}
{{- if not $role.rules -}}
{{- fail (printf "%s holds no rules: run hack/chart-sync.sh" .file) -}}
{{- end -}}
{{- toYaml $role.rules -}}
{{- end -}}
