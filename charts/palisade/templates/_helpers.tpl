{{- define "palisade.labels" -}}
app.kubernetes.io/name: palisade
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "palisade.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}

{{/* The etcd endpoints agents and the CLI use. */}}
{{- define "palisade.etcdEndpoints" -}}
{{- if eq .Values.server.mode "external" -}}
{{ join "," .Values.server.etcdEndpoints }}
{{- else -}}
{{ if .Values.server.tls.secretName }}https{{ else }}http{{ end }}://palisade-datastore.{{ .Release.Namespace }}.svc:2379
{{- end -}}
{{- end -}}
