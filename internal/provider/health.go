package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/catalogue"
	"github.com/fediversity/terraform-provider-fediversity/internal/nixos"
	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
)

// The health gate: after every switch, each application the new system
// runs must answer its health endpoint, through the runtime's web server,
// for its own domain. Requests go from the host itself, over the SSH
// connection, so nothing needs to be reachable from outside yet.

// healthTimeout bounds one request; the gate retries until the provider's
// health_timeout passes, as applications take a moment to start.
const healthTimeout = 10 * time.Second

// deployedApp is an application as a system runs it.
type deployedApp struct {
	kind, domain string
}

// systemFragments reads the fragments a system of the runtime was built
// from, and returns the client it read them with.
func (o runtimeOps) systemFragments(ctx context.Context, system string) (*remote.Client, map[string][]byte, error) {
	c, err := o.client(ctx)
	if err != nil {
		return nil, nil, err
	}
	fragments, err := nixos.SystemFragments(ctx, c, system)
	return c, fragments, err
}

// systemHealth checks every application the system runs.
func (o runtimeOps) systemHealth(ctx context.Context, system string) error {
	c, fragments, err := o.systemFragments(ctx, system)
	if err != nil {
		return err
	}
	apps := deployedApps(fragments)
	if len(apps) == 0 {
		return nil
	}
	address, err := o.webAddress(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, app := range apps {
		errs = append(errs, o.checkApp(ctx, c, address, app, o.data.healthTimeout))
	}
	return errors.Join(errs...)
}

// appHealth checks one application.
func (o runtimeOps) appHealth(ctx context.Context, app deployedApp, wait time.Duration) error {
	c, err := o.client(ctx)
	if err != nil {
		return err
	}
	address, err := o.webAddress(ctx)
	if err != nil {
		return err
	}
	return o.checkApp(ctx, c, address, app, wait)
}

// deployedApps reads the applications, with their domains, from a system's
// fragments, in a stable order.
func deployedApps(fragments map[string][]byte) []deployedApp {
	domains := map[string]string{}
	var apps []applicationFragmentModel
	for name, content := range fragments {
		switch {
		case strings.HasPrefix(name, "operator-"):
			var op operatorFragmentModel
			if json.Unmarshal(content, &op) == nil {
				domains[op.Name] = op.Domain
			}
		case strings.HasPrefix(name, "application-"):
			var app applicationFragmentModel
			// Held back or stopped: not meant to answer (yet).
			if json.Unmarshal(content, &app) == nil && len(app.HeldBack) == 0 && app.running() {
				apps = append(apps, app)
			}
		}
	}
	var deployed []deployedApp
	for _, a := range apps {
		deployed = append(deployed, deployedApp{kind: a.Kind, domain: a.Subdomain + "." + domains[a.Operator]})
	}
	sort.Slice(deployed, func(i, j int) bool { return deployed[i].domain < deployed[j].domain })
	return deployed
}

// checkApp asks one application's health endpoint, retrying for up to
// wait (zero: once).
func (o runtimeOps) checkApp(ctx context.Context, c *remote.Client, address string, app deployedApp, wait time.Duration) error {
	entry, _ := catalogue.Lookup(app.kind)
	// One request per connection: a kept-alive one would hold an SSH
	// channel and its buffers for the rest of the provider's life.
	client := &http.Client{Timeout: healthTimeout, Transport: &http.Transport{DialContext: c.DialContext, DisableKeepAlives: true}}
	addr := net.JoinHostPort(address, "80")
	deadline := time.Now().Add(wait)
	for {
		err := probeHealth(ctx, client, addr, app.domain, entry.HealthPath)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s at %s: %w", entry.Name, app.domain, err)
		}
		time.Sleep(time.Second)
	}
}

func probeHealth(ctx context.Context, client *http.Client, addr, domain, healthPath string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+healthPath, nil)
	if err != nil {
		return err
	}
	req.Host = domain
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("no answer on %s%s: %w", domain, healthPath, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s%s answered %s: %s", domain, healthPath, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
