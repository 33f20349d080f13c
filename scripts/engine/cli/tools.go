//go:build tools

// Package tools keeps the pulumi CLI's main package in this module's build list, so that
// `go build github.com/pulumi/pulumi/pkg/v3/cmd/pulumi` resolves against go.mod and go.sum here.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
