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

{{/*
Pod-level scheduling and security shared by every component
(dict "root" $ "values" .Values.x "component" "x").
A Deployment that can run more than one pod (replicaCount > 1, or an HPA whose maxReplicas > 1)
gets, unless its own values say otherwise:
  - topologySpreadConstraints over zones, then nodes (scheduling.topologySpread; ScheduleAnyway,
    so a single-zone or small cluster still schedules every pod); <component>.topologySpreadConstraints
    replaces them;
  - a pod anti-affinity on the node (scheduling.podAntiAffinity: soft = preferred, hard = required);
    a non-empty <component>.affinity replaces it.
A single-replica Deployment gets only what its own values set.
*/}}
{{- define "candid.podSpecCommon" -}}
{{- $sched := .root.Values.scheduling -}}
{{- $multi := gt (int (include "candid.maxReplicas" .values)) 1 -}}
{{- $selector := fromYaml (include "candid.selectorLabels" (dict "root" .root "component" .component)) -}}
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
{{- if .values.affinity }}
affinity:
  {{- toYaml .values.affinity | nindent 2 }}
{{- else if and $multi (ne $sched.podAntiAffinity.type "none") }}
{{- $term := dict "topologyKey" $sched.podAntiAffinity.topologyKey "labelSelector" (dict "matchLabels" $selector) }}
affinity:
  podAntiAffinity:
    {{- if eq $sched.podAntiAffinity.type "hard" }}
    requiredDuringSchedulingIgnoredDuringExecution:
      - {{- toYaml $term | nindent 8 }}
    {{- else }}
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: {{ $sched.podAntiAffinity.weight }}
        podAffinityTerm:
          {{- toYaml $term | nindent 10 }}
    {{- end }}
{{- end }}
{{- if .values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml .values.topologySpreadConstraints | nindent 2 }}
{{- else if and $multi $sched.topologySpread.enabled }}
topologySpreadConstraints:
  {{- range $key := list $sched.topologySpread.zoneKey $sched.topologySpread.hostnameKey }}
  - maxSkew: {{ $sched.topologySpread.maxSkew }}
    topologyKey: {{ $key }}
    whenUnsatisfiable: {{ $sched.topologySpread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- toYaml $selector | nindent 8 }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* The fewest pods a component's Deployment runs: the HPA's minReplicas when it has one (its values). */}}
{{- define "candid.minReplicas" -}}
{{- if dig "autoscaling" "enabled" false . -}}
{{- .autoscaling.minReplicas | int -}}
{{- else -}}
{{- .replicaCount | int -}}
{{- end -}}
{{- end -}}

{{/* The most pods a component's Deployment runs: the HPA's maxReplicas when it has one (its values). */}}
{{- define "candid.maxReplicas" -}}
{{- if dig "autoscaling" "enabled" false . -}}
{{- .autoscaling.maxReplicas | int -}}
{{- else -}}
{{- .replicaCount | int -}}
{{- end -}}
{{- end -}}

{{/* startupProbe on an HTTP path of a named port (dict "root" $ "port" "metrics" "path" "/healthz" "failureThreshold" n). */}}
{{- define "candid.startupProbe" -}}
startupProbe:
  httpGet:
    path: {{ .path | default "/healthz" }}
    port: {{ .port }}
  periodSeconds: {{ .root.Values.probes.startup.periodSeconds }}
  timeoutSeconds: {{ .root.Values.probes.startup.timeoutSeconds }}
  failureThreshold: {{ .failureThreshold | default .root.Values.probes.startup.failureThreshold }}
{{- end -}}

{{/*
The gateway's pod termination budget, in seconds: the preStop wait, then GATEWAY_DRAIN_DELAY_MS
(still serving), then up to GATEWAY_SHUTDOWN_GRACE_MS for in-flight acks, then a 5 s margin for
the 1012 close frames (GATEWAY_SHUTDOWN_CLOSE_FLUSH_MS), the lease release (at most 1 s) and exit.
The kubelet sends SIGKILL when it runs out.
*/}}
{{- define "candid.gatewayTerminationGracePeriodSeconds" -}}
{{- $d := .Values.gateway.drain -}}
{{- add (int $d.preStopSeconds) (div (add (int64 $d.delayMs) (int64 $d.graceMs) 999) 1000) 5 -}}
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
{{- /* storage.backend=fs with replicaCount > 1 is refused by values.schema.json (a single-node backend). */ -}}
{{- range $c := list "gateway" "processor" "transcriber" -}}
{{- $hpa := (index $.Values $c).autoscaling -}}
{{- if and $hpa.enabled (gt (int $hpa.minReplicas) (int $hpa.maxReplicas)) -}}
{{- fail (printf "%s.autoscaling.minReplicas must be at most %s.autoscaling.maxReplicas" $c $c) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.processor.enabled .Values.processor.transcriber.openaiUrl .Values.transcriber.enabled -}}
{{- fail "processor.transcriber.openaiUrl is set, so the processor would never call the chart's transcriber: set transcriber.enabled=false (or empty openaiUrl to use the transcriber)" -}}
{{- end -}}
{{- range $c := list "gateway" "storage" "metadata" "reaper" "web" "processor" "transcriber" -}}
{{- $v := index $.Values $c -}}
{{- $min := int (include "candid.minReplicas" $v) -}}
{{- if and $v.pdb.create (gt $min 1) (eq (toString $v.pdb.maxUnavailable) "") (not (kindIs "string" $v.pdb.minAvailable)) (ge (int $v.pdb.minAvailable) $min) -}}
{{- fail (printf "%s.pdb.minAvailable (%d) must be below the %d replicas it protects, or no node could ever be drained" $c (int $v.pdb.minAvailable) $min) -}}
{{- end -}}
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


{{/*
The processor's TRANSCRIBER_ADDR: the chart's transcriber Service (host:port) when
transcriber.enabled and no hosted API is configured; empty otherwise (processor.transcriber.openaiUrl
set: the processor calls that API; neither: transcription is off).
*/}}
{{- define "candid.transcriberAddr" -}}
{{- if and .Values.transcriber.enabled (not .Values.processor.transcriber.openaiUrl) -}}
{{- printf "%s:%d" (include "candid.componentName" (dict "root" . "component" "transcriber")) (int .Values.transcriber.grpcPort) -}}
{{- end -}}
{{- end -}}

{{/*
A CPU HorizontalPodAutoscaler (autoscaling/v2) for a component whose values have `autoscaling`
(dict "root" $ "component" "processor"). CPU utilisation needs metrics-server. With the HPA on,
the Deployment has no `replicas`, so `helm upgrade` does not reset what the HPA chose.
*/}}
{{- define "candid.cpuHpa" -}}
{{- $a := (index .root.Values .component).autoscaling -}}
{{- $ctx := dict "root" .root "component" .component -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "candid.componentName" $ctx }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "candid.labels" $ctx | nindent 4 }}
  {{- with (include "candid.annotations" (dict "root" .root) | trim) }}
  {{- . | nindent 2 }}
  {{- end }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "candid.componentName" $ctx }}
  minReplicas: {{ $a.minReplicas }}
  maxReplicas: {{ $a.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $a.targetCPUUtilizationPercentage }}
  {{- with $a.behavior }}
  behavior:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
