{{/* Labels every operator-owned object carries (spec section 1). */}}
{{- define "kyma-istio-operator.labels" -}}
kyma-project.io/module: istio
app.kubernetes.io/name: istio-operator
app.kubernetes.io/instance: istio-operator-default
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: istio
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
{{- end -}}

{{/* Labels of the operator pod: the module's labels, with the reference's pod component label. */}}
{{- define "kyma-istio-operator.podLabels" -}}
kyma-project.io/module: istio
app.kubernetes.io/instance: istio-operator-default
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: istio
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{ include "kyma-istio-operator.selector" . }}
{{- end -}}

{{/* What the Deployment and the metrics Service select the operator pod by. */}}
{{- define "kyma-istio-operator.selector" -}}
control-plane: controller-manager
app.kubernetes.io/name: istio-operator
app.kubernetes.io/component: istio-operator.kyma-project.io
{{- end -}}

{{/* The Deployment's name: istio-controller-manager as in Kyma's manifest, or fullnameOverride. */}}
{{- define "kyma-istio-operator.fullname" -}}
{{- .Values.fullnameOverride | default "istio-controller-manager" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The ServiceAccount the operator runs as: the chart's (named after the Deployment unless
serviceAccount.name says otherwise), or with serviceAccount.create=false an existing one. */}}
{{- define "kyma-istio-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{ .Values.serviceAccount.name | default (include "kyma-istio-operator.fullname" .) }}
{{- else -}}
{{ required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end -}}
{{- end -}}

{{- define "kyma-istio-operator.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}
