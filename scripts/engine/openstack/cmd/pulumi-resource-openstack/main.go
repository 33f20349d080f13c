// pulumi-resource-openstack: dcops' OpenStack resource plugin (see ../../provider).
// `pulumi-resource-openstack -version` prints its version.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"

	"dcops.local/engine/openstack/provider"
)

// schema.json is written by pulumi-tfgen-openstack at build time (scripts/install-engine.sh).
//
//go:embed schema.json
var pulumiSchema []byte

func main() {
	tfbridge.Main("openstack", provider.Version, provider.Provider(), pulumiSchema)
}
