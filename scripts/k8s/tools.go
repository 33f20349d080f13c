//go:build tools

// Package kubelab keeps the control-plane commands in the module graph through go mod tidy.
package kubelab

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
