package api

import (
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// KindStagedKubernetesNetworkPolicy is a staged (never enforced) Kubernetes
// NetworkPolicy (docs/api.md §2.3).
const KindStagedKubernetesNetworkPolicy = "StagedKubernetesNetworkPolicy"

// StagedKubernetesNetworkPolicy is parsed, validated and stored, never
// enforced.
type StagedKubernetesNetworkPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              StagedKubernetesNetworkPolicySpec `json:"spec,omitempty"`
}

// StagedKubernetesNetworkPolicySpec is a networking/v1 NetworkPolicySpec
// plus stagedAction.
type StagedKubernetesNetworkPolicySpec struct {
	StagedAction StagedAction                            `json:"stagedAction,omitempty"`
	PodSelector  metav1.LabelSelector                    `json:"podSelector,omitempty"`
	Ingress      []networkingv1.NetworkPolicyIngressRule `json:"ingress,omitempty"`
	Egress       []networkingv1.NetworkPolicyEgressRule  `json:"egress,omitempty"`
	PolicyTypes  []networkingv1.PolicyType               `json:"policyTypes,omitempty"`
}
