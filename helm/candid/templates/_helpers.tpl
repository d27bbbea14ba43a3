{{/*
Names, labels and the snippets every component shares. Components call these with
(dict "root" $ "component" "gateway") so each gets the standard labels plus
app.kubernetes.io/component.
*/}}

{{- define "candid.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "candid.fullname" -}}
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

{{/* <fullname>-<component>, e.g. candid-gateway. */}}
{{- define "candid.componentName" -}}
{{- printf "%s-%s" (include "candid.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "candid.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Standard labels (dict "root" $ "component" "x"). */}}
{{- define "candid.labels" -}}
helm.sh/chart: {{ include "candid.chart" .root }}
{{ include "candid.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Values.image.tag | default .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: candid
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "candid.selectorLabels" -}}
app.kubernetes.io/name: {{ include "candid.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{/* metadata.annotations lines from commonAnnotations merged with extra ones (dict "root" $ "extra" map). */}}
{{- define "candid.annotations" -}}
{{- $a := merge (deepCopy (.extra | default dict)) (.root.Values.commonAnnotations | default dict) -}}
{{- if $a }}
annotations:
  {{- toYaml $a | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Image reference of a component (dict "root" $ "component" "gateway"). */}}
{{- define "candid.image" -}}
{{- $img := .root.Values.image -}}
{{- $repo := (index .root.Values .component).image.repository -}}
{{- $ref := ternary (printf "%s/%s" $img.registry $repo) $repo (ne $img.registry "") -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $ref $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $ref ($img.tag | default .root.Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{- define "candid.imagePullSecrets" -}}
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Pod annotations: scrape hints (when metrics.podAnnotations and a port is given) + extra. */}}
{{- define "candid.podAnnotations" -}}
{{- if and .root.Values.metrics.podAnnotations .metricsPort }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .metricsPort | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- with .extra }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Liveness on /healthz and readiness on /readyz of the named container port. */}}
{{- define "candid.probes" -}}
livenessProbe:
  httpGet:
    path: {{ .livenessPath | default "/healthz" }}
    port: {{ .port }}
  {{- toYaml .root.Values.probes.liveness | nindent 2 }}
readinessProbe:
  httpGet:
    path: {{ .readinessPath | default "/readyz" }}
    port: {{ .port }}
  {{- toYaml .root.Values.probes.readiness | nindent 2 }}
{{- end -}}

{{/* Pod-level scheduling and security shared by every component (dict "root" $ "values" .Values.x). */}}
{{- define "candid.podSpecCommon" -}}
{{- with .root.Values.serviceAccountName }}
serviceAccountName: {{ . }}
{{- end }}
# The services never call the Kubernetes API.
automountServiceAccountToken: false
{{- include "candid.imagePullSecrets" .root }}
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Env every Bun service gets. Bun's transpiler cache would write to $HOME: the root FS is read-only. */}}
{{- define "candid.bunEnv" -}}
- name: BUN_RUNTIME_TRANSPILER_CACHE_PATH
  value: "0"
- name: TMPDIR
  value: /tmp
{{- end -}}

{{- define "candid.storageAddr" -}}
{{- printf "%s:%d" (include "candid.componentName" (dict "root" . "component" "storage")) (int .Values.storage.grpcPort) -}}
{{- end -}}

{{- define "candid.metadataAddr" -}}
{{- printf "%s:%d" (include "candid.componentName" (dict "root" . "component" "metadata")) (int .Values.metadata.grpcPort) -}}
{{- end -}}

{{/* Name of the Secret holding DATABASE_URL. */}}
{{- define "candid.databaseSecretName" -}}
{{- .Values.metadata.database.existingSecret | default (printf "%s-database" (include "candid.fullname" .)) -}}
{{- end -}}

{{- define "candid.databaseSecretKey" -}}
{{- ternary .Values.metadata.database.existingSecretUrlKey "database-url" (ne .Values.metadata.database.existingSecret "") -}}
{{- end -}}

{{/*
GATEWAY_MAX_CONNECTIONS_PER_IP. The gateway counts the TCP peer's address: behind the chart's
Ingress every client arrives from an Ingress controller pod, so the default there is the
pod-wide cap (a per-IP cap would only be a smaller pod-wide one). Set a number to override.
*/}}
{{- define "candid.gatewayMaxConnectionsPerIp" -}}
{{- $v := .Values.gateway.maxConnectionsPerIp -}}
{{- if not (eq (toString $v) "") -}}
{{- $v | int64 -}}
{{- else if .Values.ingress.enabled -}}
{{- .Values.gateway.maxConnections | int64 -}}
{{- else -}}
50
{{- end -}}
{{- end -}}

{{/* Fails the render on inconsistent values, with a message saying what to set. */}}
{{- define "candid.validate" -}}
{{- if and (not .Values.metadata.database.existingSecret) (not .Values.metadata.database.url) -}}
{{- fail "metadata.database: set existingSecret (a Secret with the PostgreSQL URL) or, for development, url" -}}
{{- end -}}
{{- if and (eq .Values.storage.backend "s3") (not .Values.storage.s3.bucket) -}}
{{- fail "storage.backend=s3 needs storage.s3.bucket" -}}
{{- end -}}
{{- if gt (int64 .Values.gateway.tokenDefaultTtlS) (int64 .Values.gateway.tokenMaxTtlS) -}}
{{- fail "gateway.tokenDefaultTtlS must be at most gateway.tokenMaxTtlS" -}}
{{- end -}}
{{- if and (eq .Values.storage.backend "fs") .Values.storage.persistence.enabled (gt (int .Values.storage.replicaCount) 1) (has "ReadWriteOnce" .Values.storage.persistence.accessModes) -}}
{{- fail "storage.replicaCount > 1 with the fs backend needs a ReadWriteMany volume (storage.persistence.accessModes) or backend=s3" -}}
{{- end -}}
{{- end -}}

{{/* Name of the Secret holding the API keys, the token secrets and the internal token. */}}
{{- define "candid.secretsName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "candid.fullname" .)) -}}
{{- end -}}

{{/* One env entry read from the secrets Secret (dict "root" $ "name" "ENV_NAME" "key" "secret-key"). */}}
{{- define "candid.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "candid.secretsName" .root }}
      key: {{ .key }}
{{- end -}}

{{/* CANDID_INTERNAL_TOKEN: every gRPC call between the services carries it. */}}
{{- define "candid.internalTokenEnv" -}}
{{- include "candid.secretEnv" (dict "root" . "name" "CANDID_INTERNAL_TOKEN" "key" "internal-token") -}}
{{- end -}}

{{/*
The gateway's CORS / WebSocket Origin allow-list: gateway.corsAllowedOrigins when set; otherwise,
with the Ingress and the web app on, the web app's own origin on the Ingress host (https when the
Ingress has TLS), so the bundled web app works without extra settings; otherwise none.
*/}}
{{- define "candid.corsAllowedOrigins" -}}
{{- if .Values.gateway.corsAllowedOrigins -}}
{{- join "," .Values.gateway.corsAllowedOrigins -}}
{{- else if and .Values.ingress.enabled .Values.web.enabled -}}
{{- printf "%s://%s" (ternary "https" "http" (not (empty .Values.ingress.tls))) .Values.ingress.hostname -}}
{{- end -}}
{{- end }}
