// generate writes the two files the plugin embeds, as the provider's own generate.go does:
// schema-embed.json (the provider's schema.json with its version set to $VERSION) and
// terraform-mapping-embed.json (terraform-mapping.json, compacted). Run it in the folder that
// holds schema.json and terraform-mapping.json (scripts/install-engine.sh copies them there from
// the Go module cache):
//
//	VERSION=4.25.0 go run ./generate
package main

import (
	"encoding/json"
	"log"
	"os"

	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

func main() {
	version, found := os.LookupEnv("VERSION")
	if !found {
		log.Fatal("VERSION is not set")
	}
	contents, err := os.ReadFile("schema.json")
	if err != nil {
		log.Fatal(err)
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal(contents, &spec); err != nil {
		log.Fatalf("cannot read schema.json: %v", err)
	}
	spec.Version = version
	versioned, err := json.Marshal(spec)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("schema-embed.json", versioned, 0o600); err != nil {
		log.Fatal(err)
	}
	mappingContents, err := os.ReadFile("terraform-mapping.json")
	if err != nil {
		log.Fatal(err)
	}
	var mapping any
	if err := json.Unmarshal(mappingContents, &mapping); err != nil {
		log.Fatalf("cannot read terraform-mapping.json: %v", err)
	}
	compact, err := json.Marshal(mapping)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("terraform-mapping-embed.json", compact, 0o600); err != nil {
		log.Fatal(err)
	}
}
