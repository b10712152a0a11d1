// Command terraform-provider-fediversity is the OpenTofu/Terraform provider
// that deploys fediverse applications to NixOS machines over SSH.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

	"github.com/fediversity/terraform-provider-fediversity/internal/provider"
	"github.com/fediversity/terraform-provider-fediversity/internal/server"
)

//go:generate make docs

// version is set by the release build (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()

	tuneGC()
	stop := profileCPU(os.Getenv("FEDIVERSITY_CPU_PROFILE"))
	serve := provider.New(version)
	if os.Getenv(provider.FloorEnv) != "" {
		serve = provider.NewFloor // the benchmarks' floor: this provider's schemas, no behaviour
	}
	var opts []tf6server.ServeOpt
	if debug {
		opts = append(opts, tf6server.WithManagedDebug())
	}
	err := tf6server.Serve("registry.terraform.io/fediversity/fediversity", func() tfprotov6.ProviderServer { return server.New(serve()) }, opts...)
	stop()
	if err != nil {
		log.Fatal(err)
	}
}

// Garbage collection defaults for a provider process: OpenTofu calls it for
// every resource of a configuration, and the plugin framework allocates
// heavily on each call, so that with Go's default (GOGC=100) a third of
// the provider's CPU in a fleet refresh went to collecting garbage (make
// bench-scale with BENCH_SCALE_PROFILE=1). Collecting a fifth as often, within a memory
// limit that keeps the process well under 300 MiB, trades memory the
// process has for CPU the hosts' builds need. GOGC or GOMEMLIMIT in the
// environment still decide.
const (
	gcPercent   = 400
	memoryLimit = 200 << 20
)

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
}

// profileCPU writes a CPU profile of this process to PREFIX.PID until stop
// is called, for the benchmarks (make bench-scale with
// BENCH_SCALE_PROFILE=1): OpenTofu starts the provider, so an environment
// variable is the one way in. An empty prefix profiles nothing.
func profileCPU(prefix string) (stop func()) {
	if prefix == "" {
		return func() {}
	}
	f, err := os.Create(fmt.Sprintf("%s.%d", prefix, os.Getpid()))
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		log.Printf("FEDIVERSITY_CPU_PROFILE: %v", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
		writeHeapProfile(fmt.Sprintf("%s.%d.heap", prefix, os.Getpid()))
	}
}

// writeHeapProfile writes what the process still holds as it ends, after
// a collection: memory that grows with the number of requests served.
func writeHeapProfile(name string) {
	f, err := os.Create(name)
	if err == nil {
		runtime.GC()
		err = errors.Join(pprof.WriteHeapProfile(f), f.Close())
	}
	if err != nil {
		log.Printf("FEDIVERSITY_CPU_PROFILE: %v", err)
	}
}
