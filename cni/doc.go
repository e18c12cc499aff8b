// Package cni is the contract between palisade-cni, the chained CNI plugin
// (cmd/palisade-cni), and the node's agent: the Attachment the plugin
// registers for each pod interface, the HTTP API the agent serves on a
// unix socket (mode 0600), the Client the plugin uses and the Handler that
// serves a Backend in the agent. It has no etcd or Kubernetes client in
// it, so the plugin binary stays small.
//
// The API:
//
//	POST   /v1/attachments?wait=DURATION   register (or replace) an attachment, then wait until it
//	                                        is programmed; 200 {"programmed": bool}
//	DELETE /v1/attachments?containerID=&ifName=   forget one; 200 even when unknown
//	GET    /v1/attachments/check?containerID=&ifName=   200 when bound, its link exists and its
//	                                        policy is in the kernel; 409 with the reason otherwise
//	GET    /v1/status                       200 when the agent is ready; 503 with the reason
//	POST   /v1/gc                           {"valid": [{"containerID", "ifName"}]}: forget the rest
//
// Attachments are keyed by container ID and interface name, never by pod
// name: a pod re-created in a new sandbox has a new key, so a late DEL of
// the old sandbox cannot remove the live one's binding.
package cni
