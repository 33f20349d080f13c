// pulumi-resource-kubernetes for dcops: Pulumi's Kubernetes provider 4.25.0, built from the Go
// module proxy. scripts/install-engine.sh copies the provider's schema.json and
// terraform-mapping.json out of the module cache next to this file and runs
// `VERSION=4.25.0 go run ./generate` first: it writes the two *-embed.json files embedded below.
// `pulumi-resource-kubernetes -version` prints the version (the provider itself has no such flag).
package main

import (
	_ "embed"
	"fmt"
	"os"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	if len(os.Args) == 2 && (os.Args[1] == "-version" || os.Args[1] == "--version") {
		fmt.Println(version.Version)
		return
	}
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
