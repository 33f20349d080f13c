// Package provider describes dcops' OpenStack resource plugin to the Terraform bridge:
// terraform-provider-openstack's resources and data sources under the tokens and property names
// of the PyPI pulumi-openstack SDK that dcops' stacks import (tokens.go, generated from the SDK
// by gen_tokens.py).
package provider

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/terraform-provider-openstack/terraform-provider-openstack/v3/openstack"
)

// Version is the plugin's version, set at link time to SDKVersion (-X ...provider.Version=):
// the engine then finds no mismatch between the SDK a program imports and the plugin it runs.
var Version = SDKVersion

// rename is one of the SDK's deprecated duplicate tokens of a Terraform name.
type rename struct {
	tf, legacy, legacyModule, newModule string
}

// fields renames Terraform properties whose SDK name is not the bridge's default camelCase.
var fields = map[string]map[string]string{
	// The SDK calls the Heat stack's "outputs" StackOutputs, capital S and all (an output named
	// "outputs" would clash with Pulumi's own resource outputs).
	"openstack_orchestration_stack_v1": {"outputs": "StackOutputs"},
}

// Provider is the bridge's description of the plugin.
func Provider() tfbridge.ProviderInfo {
	prov := tfbridge.ProviderInfo{
		P:           shimv2.NewProvider(openstack.Provider()),
		Name:        "openstack",
		Version:     Version,
		DisplayName: "OpenStack",
		Publisher:   "dcops",
		Description: "OpenStack resources for dcops, from terraform-provider-openstack through the Pulumi Terraform bridge.",
		Keywords:    []string{"pulumi", "openstack"},
		License:     "Apache-2.0",
		Homepage:    "https://www.pulumi.com",
		Repository:  "https://github.com/pulumi/pulumi-openstack",
		GitHubOrg:   "terraform-provider-openstack",
		Resources:   map[string]*tfbridge.ResourceInfo{},
		DataSources: map[string]*tfbridge.DataSourceInfo{},
	}
	for tf, tok := range resourceTokens {
		info := &tfbridge.ResourceInfo{Tok: tokens.Type(tok)}
		for from, to := range fields[tf] {
			if info.Fields == nil {
				info.Fields = map[string]*tfbridge.SchemaInfo{}
			}
			info.Fields[from] = &tfbridge.SchemaInfo{Name: to}
		}
		prov.Resources[tf] = info
	}
	for tf, tok := range dataSourceTokens {
		prov.DataSources[tf] = &tfbridge.DataSourceInfo{Tok: tokens.ModuleMember(tok)}
	}
	for _, r := range resourceRenames {
		current := prov.Resources[r.tf]
		prov.RenameResourceWithAlias(r.tf, tokens.Type(r.legacy), current.Tok, r.legacyModule, r.newModule, current)
	}
	for _, r := range dataSourceRenames {
		current := prov.DataSources[r.tf]
		prov.RenameDataSource(r.tf, tokens.ModuleMember(r.legacy), current.Tok, r.legacyModule, r.newModule, current)
	}
	// Like the official provider: a resource's `name`, when a program gives none, is the
	// resource's Pulumi name with a random suffix.
	prov.SetAutonaming(255, "-")
	return prov
}
