// A stand-in for github.com/pulumi/pulumi-yaml, whose pseudo-version required by the Terraform
// bridge the Go module proxy does not serve. tfgen imports its codegen package only to convert
// examples to YAML; dcops runs tfgen with --skip-examples.
module github.com/pulumi/pulumi-yaml

go 1.25

require (
	github.com/hashicorp/hcl/v2 v2.24.0
	github.com/pulumi/pulumi/pkg/v3 v3.253.0
)
