// Command terraform-provider-fediversity is the OpenTofu/Terraform provider
// that deploys fediverse applications to NixOS machines over SSH.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/fediversity/terraform-provider-fediversity/internal/provider"
)

//go:generate make docs

// version is set by the release build (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/fediversity/fediversity",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err)
	}
}
