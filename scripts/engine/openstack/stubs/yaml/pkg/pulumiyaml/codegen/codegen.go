// Package codegen satisfies the one name the Terraform bridge's tfgen uses from pulumi-yaml.
package codegen

import (
	"errors"

	"github.com/hashicorp/hcl/v2"
	"github.com/pulumi/pulumi/pkg/v3/codegen/pcl"
)

// GenerateProgram is not available: dcops builds no YAML examples.
func GenerateProgram(*pcl.Program) (map[string][]byte, hcl.Diagnostics, error) {
	return nil, nil, errors.New("YAML program generation is not available in dcops' build of the bridge")
}
