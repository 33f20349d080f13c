// pulumi-tfgen-openstack writes the plugin's Pulumi schema:
//
//	pulumi-tfgen-openstack schema --skip-examples --out DIR   (writes DIR/schema.json)
//
// scripts/install-engine.sh runs it at build time and embeds the result in the plugin.
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"

	"dcops.local/engine/openstack/provider"
)

func main() {
	tfgen.Main("openstack", provider.Version, provider.Provider())
}
