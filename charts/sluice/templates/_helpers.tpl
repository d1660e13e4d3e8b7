{{/* The release's full name: <release>-sluice, or the release name when it already says sluice. */}}
{{- define "sluice.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "sluice.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sluice.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sluice.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "sluice.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "sluice.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sluice
{{- end -}}

{{- define "sluice.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "sluice.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
Cluster-scoped objects (ClusterRoles, bindings) are named after the release and its namespace, so the same release
name in two namespaces does not collide.
*/}}
{{- define "sluice.clusterName" -}}
{{- printf "%s-%s" (include "sluice.fullname" .) .Release.Namespace | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Settings that cannot be expressed in values.schema.json: checked at render time, naming the value. */}}
{{- define "sluice.validate" -}}
{{- if and .Values.rbac.namespaced (empty .Values.watchNamespaces) -}}
{{- fail "rbac.namespaced=true needs watchNamespaces: the namespaces that get a Role (and that the operator watches)" -}}
{{- end -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) (not .Values.sharding.enabled) -}}
{{- fail (printf "replicaCount=%d needs leaderElection.enabled=true: replicas without election would all reconcile" (int .Values.replicaCount)) -}}
{{- end -}}
{{- end -}}

{{/*
The rules the operator itself needs (every request in src/: the Rollout, AnalysisRun and Application controllers,
the routers, events). Leases are granted separately, in the release namespace only.
*/}}
{{- define "sluice.operatorRules" -}}
# Sluice's own kinds: caches (get/list/watch), status writes, AnalysisRuns created per step and deleted on retry,
# the webhook's refresh annotation on Applications.
- apiGroups: [sluice.dev]
  resources: [rollouts, analysistemplates, applications]
  verbs: [get, list, watch]
- apiGroups: [sluice.dev]
  resources: [applications]
  verbs: [patch]
{{- if .Values.fleet.enabled }}
# Fleet mode: ApplicationSets generate Applications (created, updated, deleted; owned with blockOwnerDeletion).
# patch: the Reverse deletion finalizer, and a push webhook's refresh annotation.
- apiGroups: [sluice.dev]
  resources: [applicationsets]
  verbs: [get, list, watch, patch]
- apiGroups: [sluice.dev]
  resources: [applicationsets/status]
  verbs: [patch]
- apiGroups: [sluice.dev]
  resources: [applicationsets/finalizers]
  verbs: [update]
- apiGroups: [sluice.dev]
  resources: [applications]
  verbs: [create, delete]
{{- end }}
# Notifications: the sent keys are an annotation on the Rollout; the notification ConfigMaps are read by name.
- apiGroups: [sluice.dev]
  resources: [rollouts]
  verbs: [patch]
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get]
- apiGroups: [sluice.dev]
  resources: [analysisruns]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [sluice.dev]
  resources: [rollouts/status, analysisruns/status, applications/status]
  verbs: [patch]
# Experiments: created by a Rollout's experiment step (terminated, deleted on retry); their status is written.
- apiGroups: [sluice.dev]
  resources: [experiments]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [sluice.dev]
  resources: [experiments/status]
  verbs: [patch]
# An Experiment owns its ReplicaSets, AnalysisRuns and Services with blockOwnerDeletion (see rollouts/finalizers below).
- apiGroups: [sluice.dev]
  resources: [experiments/finalizers]
  verbs: [update]
# ReplicaSets, AnalysisRuns and canary Ingresses are owned by their Rollout with blockOwnerDeletion, which needs
# update on rollouts/finalizers where the OwnerReferencesPermissionEnforcement admission plugin is on.
- apiGroups: [sluice.dev]
  resources: [rollouts/finalizers]
  verbs: [update]
- apiGroups: [apps]
  resources: [replicasets]
  verbs: [get, list, watch, create, patch, delete]
# The job metric provider: one Job per measurement, owned by its AnalysisRun, watched, deleted when the run ends.
- apiGroups: [batch]
  resources: [jobs]
  verbs: [get, list, watch, create, delete]
# workloadRef: the referenced Deployment is read and scaled down.
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, patch]
# Stable/canary Services: selectors pinned to a ReplicaSet's pods. An experiment template with a weight gets a
# Service of its own, owned by its Experiment (created, then deleted with the template's scale-down).
- apiGroups: [""]
  resources: [services]
  verbs: [get, list, watch, create, patch, delete]
# An experiment template's Service gets traffic only once its EndpointSlices list a ready endpoint.
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
# restartAt: pods are listed and evicted (so PodDisruptionBudgets are honoured), never deleted.
- apiGroups: [""]
  resources: [pods]
  verbs: [list]
- apiGroups: [""]
  resources: [pods/eviction]
  verbs: [create]
# AnalysisRun args from Secrets, Git credentials of Applications: read one by name, never listed.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
# Traffic routers: weights written by server-side apply on the objects a Rollout names; NGINX gets a canary
# Ingress of Sluice's own (created, then deleted at the end).
- apiGroups: [gateway.networking.k8s.io]
  resources: [httproutes]
  verbs: [get, patch]
- apiGroups: [networking.istio.io]
  resources: [virtualservices, destinationrules]
  verbs: [get, patch]
- apiGroups: [networking.k8s.io]
  resources: [ingresses]
  verbs: [get, create, patch, delete]
{{- end -}}

{{- define "sluice.clusterTemplateRules" -}}
- apiGroups: [sluice.dev]
  resources: [clusteranalysistemplates]
  verbs: [get, list, watch]
{{- end -}}
