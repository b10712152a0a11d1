package activate

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/fediversity/terraform-provider-fediversity/internal/standin/supervisor"
)

// The test binary doubles as fediversity-standin: run with a role as its
// first argument, it is that role. Switches under test start it as their
// supervisor, and Nix-built systems run it as their program.
var testRoles = map[string]func(ctx context.Context, args []string) int{
	"switch": func(ctx context.Context, args []string) int { return Main(ctx, args, os.Stdout, os.Stderr) },
	"supervise": func(ctx context.Context, args []string) int {
		return supervisor.Main(ctx, args, os.Stdout, os.Stderr)
	},
	"app": fakeApp,
}

func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		if role, ok := testRoles[os.Args[1]]; ok {
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			code := role(ctx, os.Args[2:])
			stop()
			os.Exit(code)
		}
	}
	os.Exit(m.Run())
}

// fakeApp stands in for the real app role: it records its configuration in
// its state directory and runs until stopped; {"fail": true} makes it
// exit at once, as an app refusing to start.
func fakeApp(ctx context.Context, args []string) int {
	flags := flag.NewFlagSet("app", flag.ContinueOnError)
	config := flags.String("config", "", "")
	if flags.Parse(args) != nil {
		return 2
	}
	data, err := os.ReadFile(*config)
	if err != nil {
		return 1
	}
	var settings struct{ Fail bool }
	if json.Unmarshal(data, &settings) != nil || settings.Fail {
		return 1
	}
	if dir := os.Getenv("STATE_DIRECTORY"); dir != "" {
		if os.WriteFile(filepath.Join(dir, "started"), data, 0o600) != nil {
			return 1
		}
	}
	<-ctx.Done()
	return 0
}
