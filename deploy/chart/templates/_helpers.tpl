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

{{- define "kyma-istio-operator.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}
