// A stand-in for github.com/pulumi/pulumi-dotnet/pulumi-language-dotnet/v3, which the Go module
// proxy does not serve. The Terraform bridge's tfgen imports its codegen package only to convert
// examples to C# and to write the schema's C# section; dcops needs neither (tfgen runs with
// --skip-examples, and the plugin binary does not link tfgen at all).
module github.com/pulumi/pulumi-dotnet/pulumi-language-dotnet/v3

go 1.25

require (
	github.com/hashicorp/hcl/v2 v2.24.0
	github.com/pulumi/pulumi/pkg/v3 v3.253.0
)
